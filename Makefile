# chuangdai — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test test-pg fuzz lint typecheck format bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chuangdai db upgrade
	$(BIN)/chuangdai demo load
	$(BIN)/chuangdai serve --host $(HOST) --port $(PORT)

# Line coverage of core, knowledge, bot, sms, wechat and server; the floor follows the measured
# figure (90.4% on 2026-12-06, 92.45% on 2026-12-07): raise it when coverage rises, never lower it.
COV_FLOOR := 92

test: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=$(COV_FLOOR)

# The database tests again on PostgreSQL: DATABASE_URL=postgresql+psycopg://... make test-pg
test-pg: $(STAMP)
	$(BIN)/pytest -m db

# schemathesis over /openapi.json (admin token) and hypothesis on the webhook parsers, against a
# real server process; zero 5xx is the pass condition. FUZZ_EXAMPLES bounds it (a few minutes).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20} $(BIN)/pytest fuzz -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/faq_bench.py
	$(BIN)/python bench/learned_loso.py
	$(BIN)/python bench/import_bench.py --rows 100000
	$(BIN)/python bench/aliyun_sms_bench.py
	$(BIN)/python bench/wechat_bench.py
	$(BIN)/python bench/webhook_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
