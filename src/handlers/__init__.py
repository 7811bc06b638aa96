"""The thin edges of cliproxy: HTTP app, Lambda entry points, scheduled refresher, CLI. No imports here,
so each edge loads only what it uses."""
