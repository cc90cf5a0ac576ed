# The two commands of the README: `make demo` and `make test` (which runs `make lint` first).
UV ?= uv

.PHONY: install demo lint test

install:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

# formatting, lint, the import contracts (layers, a pure domain, no cycles) and strict types on the domain
lint: install
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen lint-imports
	$(UV) run --frozen mypy

test: lint
	$(UV) run --frozen pytest -q -n 2

demo: install
	$(UV) run --frozen python -m pcs.cli.demo
