# The two set-up commands of the README: `make demo` and `make test`. Each bootstraps .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
# Debian/Ubuntu packages the tests need: fake BlueZ bus, PortAudio, offline speech, Qt offscreen
# libraries, headless Chromium for the HTML report.
SYSTEM_PACKAGES := python3-venv dbus-daemon libportaudio2 libsndfile1 espeak-ng sox \
	libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 chromium

.PHONY: demo test lint bench system-packages

$(VENV)/.installed: pyproject.toml
	@python3 -m venv $(VENV) || { echo "error: python3 -m venv failed; install it with: sudo apt-get install python3-venv" >&2; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(VENV)/bin/imurun warmup  # compile the engine now, so that the first run starts at once
	@touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/imurun demo

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "error: the tests need system packages; run: sudo apt-get install -y$$missing" >&2; exit 1; \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check imurun tests benchmarks

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: system-packages $(VENV)/.installed lint
	@$(PY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run_all.py
