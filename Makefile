# taojin — the commands a newcomer needs. `make help` lists them.

CARGO ?= cargo
JOBS ?= 2
RELEASE_BIN := $(or $(CARGO_TARGET_DIR),target)/release/taojin
CORPUS ?= $(firstword $(wildcard ../shared/corpus/bilingual-real.jsonl.zst))
# datasketch and datatrove take minutes per 10 MB: the dedup peers run on a smaller corpus.
SMALL_CORPUS ?= $(firstword $(wildcard ../shared/corpus/bilingual-real-small.jsonl.zst))

.PHONY: help build models demo test pytest check bench clean

help:
	@echo "make models  fetch the fastText language-ID model (models/lid.176.ftz)"
	@echo "make demo    build (release), generate the demo corpus, run jobs/demo.toml, print the funnel"
	@echo "make test    run every test (unit + end-to-end through the binary)"
	@echo "make check   cargo fmt --check and clippy -D warnings"
	@echo "make bench   benchmarks beside the peers: make bench CORPUS=path.jsonl.zst"

build:
	$(CARGO) build --release -j $(JOBS) -p taojin-pipeline --bin taojin

models:
	bash scripts/fetch_models.sh

demo: build models
	@test -f data/demo/.complete || ($(RELEASE_BIN) demo-data data/demo && touch data/demo/.complete)
	$(RELEASE_BIN) run jobs/demo.toml
	$(RELEASE_BIN) mix jobs/demo.toml --dry-run
	@echo
	@echo "Outputs are in out/demo/ (one folder per stage: part-*.parquet kept, removed/ with reasons)."
	@echo "See the funnel again with: $(RELEASE_BIN) stats out/demo"
	@echo "Training shards: out/demo/shards/ (manifest.json). Train a tiny GPT on them:"
	@echo "  pip install ./python torch && python examples/train_tiny_gpt.py out/demo/shards --steps 300"

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

test: models .venv/.ready
	TAOJIN_MOTO_SERVER=$(CURDIR)/.venv/bin/moto_server $(CARGO) test -j $(JOBS) --workspace
	$(MAKE) pytest
	bash scripts/slurm_check.sh $(TARGET_DIR)/debug/taojin

# make test needs a venv: pyarrow, numpy, pytest, pyyaml and torch for the Python tests (the tiny-GPT test runs
# on CPU), moto[server] as the S3 test server; made once in .venv (torch is large: minutes the first time).
.venv/.ready: python/pyproject.toml Makefile
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check "pyarrow>=14" "numpy>=1.24" "pytest>=7" "pyyaml>=6" "moto[server]==5.2.5" "torch>=2.0"
	touch .venv/.ready

pytest: .venv/.ready
	$(CARGO) build -j $(JOBS) -p taojin-pipeline --bin taojin
	TAOJIN_BIN=$(TARGET_DIR)/debug/taojin .venv/bin/python -m pytest -q python/tests

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -j $(JOBS) --workspace --all-targets -- -D warnings

bench: build models
	@test -n "$(CORPUS)" || (echo "give a corpus: make bench CORPUS=path.jsonl.zst" && exit 2)
	python3 bench/ingest_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS)
	python3 bench/langid_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS) --peers "$$(bash bench/peers.sh)"
	python3 bench/quality_bench.py --taojin $(RELEASE_BIN) --corpus $(or $(SMALL_CORPUS),$(CORPUS)) --peers "$$(bash bench/peers.sh)"
	python3 bench/dedup_bench.py --taojin $(RELEASE_BIN) --corpus $(or $(SMALL_CORPUS),$(CORPUS)) --peers "$$(bash bench/peers.sh)"
	python3 bench/tokenize_bench.py --taojin $(RELEASE_BIN) --corpus $(CORPUS) --peers "$$(bash bench/peers.sh)"
	$(MAKE) .venv/.ready && .venv/bin/python bench/s3_bench.py --taojin $(RELEASE_BIN)

clean:
	rm -rf out data/demo
