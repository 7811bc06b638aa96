# SAM targets (included by the main Makefile). aws-sam-cli lives in its own venv, .tools/sam, made on demand.
SAM_SH := scripts/sam.sh

.PHONY: sam-install sam-lint sam-build sam-check sam-test sam-deploy

sam-install:
	$(SAM_SH) install

# sam validate --lint, plus the translated-template check (streaming, stage, caps, alarms, IAM, secrets...)
sam-lint:
	$(SAM_SH) lint

# sam build: arm64 / cp312 wheels into the shared layer, core + handlers + run.sh + config, precompiled
sam-build:
	$(SAM_SH) build

# the built bundle imports handlers.api on python3.12, stays under Lambda's 250 MB unzipped limit and has no
# key-shaped value in a bundled config
sam-check:
	$(SAM_SH) check

sam-test:
	$(SAM_SH) test

sam-deploy: sam-build
	$(SAM_SH) -- deploy --guided

# sam local: template.yaml's buffered function, built for the host, under Docker (scripts/lambda_docker.sh: the
# user's Docker, or a private dockerd with the Lambda base image pulled or built offline) on http://127.0.0.1:$(SAM_LOCAL_PORT)
# SAM_LOCAL_CONFIG=path/to/config.yaml picks the config (default deploy/config.samlocal.yaml); Ctrl-C stops it.
SAM_LOCAL_PORT ?= 3000
.PHONY: sam-local
sam-local:
	SAM_LOCAL_PORT=$(SAM_LOCAL_PORT) scripts/sam_local.sh serve
