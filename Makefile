# traceapp: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app traceapp
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
NGINX_PORT ?= 8080

.PHONY: run serve-nginx nginx install dev test lint bench clean-db fonts axe
AXE := tests/e2e/node/node_modules/axe-core/axe.min.js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

# Links, QR codes and the Digital Link redirects carry the address served, unless
# TRACEAPP_PUBLIC_URL is set (say, to the address phones reach behind a proxy).
run: export TRACEAPP_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: install fonts
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo
	@echo "traceapp is starting on http://$(HOST):$(PORT)/ (links and QR codes: $$TRACEAPP_PUBLIC_URL)"
	@echo "  log in:  http://$(HOST):$(PORT)/login with a demo account listed above (password traceapp-demo)"
	@echo "  audit:   http://$(HOST):$(PORT)/ledger/ explains the checkpoint, the key and the tools; offline:"
	@echo "           $(FLASK) ledger export ledger-bundle.jsonl && $(BIN)/python -m traceapp.ledger.verify ledger-bundle.jsonl"
	@echo
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

# nginx in front of gunicorn, as deployed (deploy/nginx.conf): static files and a cache of the public
# pages on http://$(HOST):$(NGINX_PORT)/, gunicorn on 127.0.0.1:$(PORT) behind it. nginx runs from
# instance/nginx/ (its own pid, logs and cache), not as the system's service; Ctrl-C stops both.
serve-nginx: export TRACEAPP_PUBLIC_URL ?= http://$(HOST):$(NGINX_PORT)
serve-nginx: export TRACEAPP_BEHIND_PROXY = 1
serve-nginx: install fonts nginx
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(BIN)/python deploy/nginx.py --listen $(HOST):$(NGINX_PORT) --upstream 127.0.0.1:$(PORT) --prefix instance/nginx
	@echo
	@echo "traceapp is starting on http://$(HOST):$(NGINX_PORT)/ (nginx, its cache in instance/nginx/cache) in front of gunicorn on 127.0.0.1:$(PORT)"
	@echo
	$(BIN)/python deploy/nginx.py --listen $(HOST):$(NGINX_PORT) --upstream 127.0.0.1:$(PORT) --prefix instance/nginx --run & \
		NGINX_PID=$$!; trap 'kill $$NGINX_PID 2>/dev/null' EXIT INT TERM; \
		$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

# Debian's nginx, for serve-nginx and the test that runs the cache in front of the app.
nginx:
	@test -x /usr/sbin/nginx || (echo "installing Debian's nginx (not started as a service)" && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) || \
		echo "could not install nginx: the nginx test will skip (CI fails it)"

test: dev
	@test -x /usr/bin/chromium || (echo "installing Debian's chromium for the browser tests" && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "could not install chromium: the browser tests will skip (CI fails them)"
	@dpkg -s libcairo2 >/dev/null 2>&1 || (echo "installing libcairo2 (SVG QR codes are rasterized to decode them)" && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcairo2 >/dev/null) || \
		echo "could not install libcairo2: the SVG decoding test will fail"
	@$(MAKE) --no-print-directory fonts
	@$(MAKE) --no-print-directory nginx
	@$(MAKE) --no-print-directory axe || echo "could not install axe-core: the accessibility tests will skip (CI fails them)"
	$(BIN)/pytest -n 2 --dist loadgroup

# The CJK font label PDFs embed; without it (no root, no network) they use reportlab's built-in STSong-Light.
fonts:
	@test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || (echo "installing fonts-wqy-microhei for label PDFs" && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) || \
		echo "could not install fonts-wqy-microhei: label PDFs use the built-in STSong-Light font"

# axe-core, which the accessibility tests inject into pages, at the version package-lock.json pins.
axe: $(AXE)

$(AXE): tests/e2e/node/package.json tests/e2e/node/package-lock.json
	@command -v npm >/dev/null || (echo "npm is missing: install Node.js (Debian: apt-get install npm) for the accessibility tests" && false)
	npm ci --prefix tests/e2e/node --no-audit --no-fund --loglevel=error
	@touch $@

lint: dev
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/brands.py
	$(BIN)/python bench/public.py
	$(BIN)/python bench/labels.py
	$(BIN)/python bench/audit.py

clean-db:
	rm -f instance/traceapp.db instance/traceapp.db-wal instance/traceapp.db-shm
