# The two commands of the README: `make demo` and `make test` (which runs `make lint` first).
UV ?= uv

.PHONY: install browser demo lint test

install:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

# formatting, lint, the import contracts (layers, a pure domain, no cycles) and strict types on the domain
lint: install
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen lint-imports
	$(UV) run --frozen mypy

# Debian's Chromium for the scorecard page's browser tests (installed when missing and we are root;
# without it those tests are skipped, with the reason)
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } \
		|| echo "warning: /usr/bin/chromium is missing: the page's browser tests will be skipped"

test: lint browser
	$(UV) run --frozen pytest -q -n 2

demo: install
	$(UV) run --frozen python -m pcs.cli.demo
