# taojin — the commands a newcomer needs. `make help` lists them.

CARGO ?= cargo
JOBS ?= 2
# Absolute: the Python tests and the Slurm check run it from other folders.
RELEASE_BIN := $(abspath $(or $(CARGO_TARGET_DIR),target))/release/taojin
CORPUS ?= $(firstword $(wildcard ../shared/corpus/bilingual-real.jsonl.zst))
# datasketch and datatrove take minutes per 10 MB: the dedup peers run on a smaller corpus.
SMALL_CORPUS ?= $(firstword $(wildcard ../shared/corpus/bilingual-real-small.jsonl.zst))
HTML_CORPUS ?= $(firstword $(wildcard ../shared/corpus/html-real.jsonl.zst))

.PHONY: help build models demo report chromium test pytest check bench bench-web clean

help:
	@echo "make models  fetch the fastText language-ID model (models/lid.176.ftz)"
	@echo "make demo    build (release), generate the demo corpus, run jobs/demo.toml, print the funnel"
	@echo "make report  screenshot of the demo's report (out/demo/report.html) in headless Chromium: docs/report.png"
	@echo "make test    run every test (unit + end-to-end through the binary)"
	@echo "make check   cargo fmt --check and clippy -D warnings"
	@echo "make bench   benchmarks beside the peers: make bench CORPUS=path.jsonl.zst"
	@echo "make bench-web  HTML extraction beside trafilatura and resiliparse (F1, pages/s)"

build:
	$(CARGO) build --release -j $(JOBS) -p taojin-pipeline --bin taojin

models:
	bash scripts/fetch_models.sh

demo: build models
	@test -f data/demo/.complete -a -f data/demo/lm-reference/reference.jsonl.zst || ($(RELEASE_BIN) demo-data data/demo --learned && touch data/demo/.complete)
	@test -f out/demo-lm.arpa || $(RELEASE_BIN) train-lm --input data/demo/lm-reference/reference.jsonl.zst --order 4 --out out/demo-lm.arpa
	$(RELEASE_BIN) run jobs/demo.toml
	$(RELEASE_BIN) mix jobs/demo.toml --dry-run
	@test -f data/demo-crawl/crawl-00000.warc.gz || $(RELEASE_BIN) demo-crawl data/demo-crawl
	$(RELEASE_BIN) run jobs/zh-en-web.toml
	@echo
	@echo "The crawl path (WARC -> extract -> ... -> shards) is in out/zh-en-web/ (jobs/zh-en-web.toml)."
	@echo "Outputs are in out/demo/ (one folder per stage: part-*.parquet kept, removed/ with reasons)."
	@echo "The run's report: out/demo/report.html (one self-contained page; taojin explain / diff for more)."
	@echo "See the funnel again with: $(RELEASE_BIN) stats out/demo"
	@echo "Training shards: out/demo/shards/ (manifest.json). Train a tiny GPT on them:"
	@echo "  pip install ./python torch && python examples/train_tiny_gpt.py out/demo/shards --steps 300"

# The top of the demo's report as headless Chromium draws it at 1280 wide (funnel,
# languages, the first length histogram): the picture in the README. Runs `make demo` first
# when there is no report yet.
REPORT_PNG ?= docs/report.png
CHROMIUM_BIN := $(or $(filter-out skip,$(TAOJIN_CHROMIUM)),/usr/bin/chromium)
report: chromium
	@test -f out/demo/report.html || $(MAKE) demo
	@mkdir -p $(dir $(REPORT_PNG)) && rm -f $(REPORT_PNG)
	@profile=$$(mktemp -d) && trap 'rm -rf "$$profile"' EXIT && \
	  $(CHROMIUM_BIN) --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
	  --no-first-run --disable-background-networking --disable-component-update --user-data-dir="$$profile" \
	  --window-size=1280,2180 --screenshot=$(abspath $(REPORT_PNG)) file://$(CURDIR)/out/demo/report.html >/dev/null 2>&1; \
	  test -s $(REPORT_PNG) || (echo "$(CHROMIUM_BIN) wrote no $(REPORT_PNG)" >&2; exit 1)
	@echo "wrote $(REPORT_PNG) (the top of out/demo/report.html at 1280x2180)"

# Debian's chromium for the report's browser test and `make report` (TAOJIN_CHROMIUM=skip: none).
chromium:
	bash scripts/chromium_install.sh

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

test: models .venv/.ready chromium
	TAOJIN_MOTO_SERVER=$(CURDIR)/.venv/bin/moto_server $(CARGO) test --release -j $(JOBS) --workspace
	$(MAKE) pytest
	bash scripts/slurm_check.sh $(RELEASE_BIN)

# make test needs a venv: pyarrow, numpy, pytest, pyyaml, torch, megatron-core (its IndexedDataset reads the export), duckdb, polars and datasets (they read the Parquet outputs), kenlm (its scorer checks our n-gram models; built from source, under a minute) for the Python tests (the tiny-GPT test runs
# on CPU), playwright (drives Debian's chromium for the report test; it downloads no browser), ray (a real local cluster runs the Ray launcher's test), moto[server] as the S3 test server; made once in .venv (torch is large: minutes the first time).
.venv/.ready: python/pyproject.toml Makefile
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check "pyarrow>=14" "numpy>=1.24" "pytest>=7" "pyyaml>=6" "moto[server]==5.2.5" "torch>=2.0" "warcio==1.8.1" "megatron-core==0.16.1" "duckdb==1.4.2" "polars==1.35.2" "datasets==4.4.1" "kenlm==0.3.0" "playwright==1.65.2" "ray==2.52.1"
	touch .venv/.ready

pytest: .venv/.ready chromium
	$(CARGO) build --release -j $(JOBS) -p taojin-pipeline --bin taojin
	TAOJIN_BIN=$(RELEASE_BIN) .venv/bin/python -m pytest -q python/tests

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -j $(JOBS) --workspace --all-targets -- -D warnings

bench: build models
	@test -n "$(CORPUS)" || (echo "give a corpus: make bench CORPUS=path.jsonl.zst" && exit 2)
	python3 bench/ingest_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS)
	python3 bench/memory_bench.py --taojin $(RELEASE_BIN) --model $(CURDIR)/models/lid.176.ftz
	python3 bench/langid_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS) --peers "$$(bash bench/peers.sh)"
	python3 bench/quality_bench.py --taojin $(RELEASE_BIN) --corpus $(or $(SMALL_CORPUS),$(CORPUS)) --peers "$$(bash bench/peers.sh)"
	python3 bench/dedup_bench.py --taojin $(RELEASE_BIN) --corpus $(or $(SMALL_CORPUS),$(CORPUS)) --peers "$$(bash bench/peers.sh)"
	python3 bench/tokenize_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS) --peers "$$(bash bench/peers.sh)"
	$(MAKE) .venv/.ready && .venv/bin/python bench/s3_bench.py --taojin $(RELEASE_BIN)
	.venv/bin/python bench/learned_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS) --model $(CURDIR)/models/lid.176.ftz
	.venv/bin/python bench/ray_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS)
	$(MAKE) bench-web

# Main-text extraction beside trafilatura and resiliparse (F1 per language, pages/s per core).
# The extractor is taojin-web's crawl path built alone (a minute), not the whole pipeline.
bench-web: bench/.web-venv/.ready
	$(CARGO) build --release -j $(JOBS) -p taojin-web --example warc_extract
	bench/.web-venv/bin/python bench/web_bench.py --extractor $(TARGET_DIR)/release/examples/warc_extract \
	  --python bench/.web-venv/bin/python --corpus $(CORPUS) --html $(HTML_CORPUS) \
	  $(if $(wildcard $(RELEASE_BIN)),--taojin $(RELEASE_BIN))

bench/.web-venv/.ready: bench/web-requirements.txt
	python3 -m venv bench/.web-venv
	bench/.web-venv/bin/pip install -q --disable-pip-version-check -r bench/web-requirements.txt
	touch $@

clean:
	rm -rf out data/demo data/demo-crawl
