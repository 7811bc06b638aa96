# cliproxy — `make serve` and `make test` work on a fresh machine: each creates .venv and installs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= $(or $(CLIPROXY_CONFIG),config.example.yaml)

.PHONY: install serve test test-unit bench lint typecheck smoke clis

include mk/sam.mk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/cliproxy serve --config $(CONFIG)

# the real coding CLIs the tests drive (pinned, npm, into .tools/clis); without Node.js those tests skip and say why
clis:
	scripts/install_clis.sh || echo "make clis: not installed; tests/clis will skip (reason in the test report)" >&2

# sam-test first: sam validate --lint, sam build and the bundle check (aws-sam-cli in its own .tools/sam venv)
test: install sam-test clis typecheck
	$(BIN)/python -m pytest

# sam-build + sam-check first: the cold-start figure runs the built bundle (python3.12 + the layer's x86_64 twin)
bench: install sam-build sam-check
	$(BIN)/python -m bench $(if $(PEERS),--peers $(PEERS),)

# ruff, plus the template: sam validate --lint + the translated-template check, cfn-lint and checkov
lint: install sam-lint typecheck
	$(BIN)/ruff check src tests
	$(SAM_SH) iac

# mypy --strict on src/core and src/handlers (settings in pyproject.toml [tool.mypy])
typecheck: install
	$(BIN)/python -m mypy

# a deployed stack from outside, after `sam deploy`: make smoke URL=<ApiUrl or FunctionUrl> KEY=<client key>
smoke: install
	@test -n "$(URL)" -a -n "$(KEY)" || { echo "usage: make smoke URL=<ApiUrl> KEY=<client key>" >&2; exit 2; }
	$(BIN)/python scripts/smoke.py "$(URL)" "$(KEY)"
