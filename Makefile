# The two commands of the README: `make demo` and `make test`.
UV ?= uv

.PHONY: install demo test

install:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

test: install
	$(UV) run --frozen pytest -q -n 2

demo: install
	$(UV) run --frozen python -m pcs.cli.demo
