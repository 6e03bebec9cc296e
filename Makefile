# Two commands for a newcomer: `make run` and `make test`. Each bootstraps its own venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest pytest-fast schema clean bench-data bench-cases \
	bench-tick bench-province bench-load bench-profile bench-render doc-images bench-import \
	bench-home-visits bench-ledgers bench-crosscheck bench-household bench-stats

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Serve the demo districts (山亭区, 沙坡头区) on 127.0.0.1:8000 with an SQLite file (var/lianbao.db).
run: $(STAMP)
	$(BIN)/lianbao migrate
	$(BIN)/lianbao seed-demo --if-empty
	$(BIN)/lianbao hello
	$(BIN)/lianbao serve

## Lint, type-check, then the whole suite on SQLite and PostgreSQL.
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest-xdist workers: most of the suite waits on PostgreSQL, SQLite files and server
# subprocesses, so on two cores two workers take about a third of the serial wall time
# (README, "Tests"). Each worker builds its own scratch databases; PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

## The suite without the tests marked slow (server processes, the Node.js audit): for iterating.
pytest-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow"

## Regenerate the checked-in artefacts (schema.graphql, docs/authz.md).
schema: $(STAMP)
	$(BIN)/lianbao export-schema > schema.graphql
	$(BIN)/lianbao authz-docs > docs/authz.md

## Benchmarks (PostgreSQL; BENCH_URL defaults to the local server's lianbao_bench database).
BENCH_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench

bench-data: $(STAMP)
	$(BIN)/python -m bench.generate --url $(BENCH_URL) --children 200000 --cases 200000 --tasks 200000

bench-cases: $(STAMP)
	$(BIN)/python -m bench.cases_list --url $(BENCH_URL)

## The three ledgers (issue 15): pages per officer and a 100,000-row export's peak memory, on
## the province (make bench-province BENCH_URL=…/lianbao_bench_ledger first).
bench-ledgers: $(STAMP)
	$(BIN)/python -m bench.ledgers --url $(BENCH_URL) $(BENCH_ARGS)

bench-tick: $(STAMP)
	$(BIN)/python -m bench.tick --url $(BENCH_URL)

## The province for the load run: 2,000,000 children, 200,000 cases, 500,000 tasks.
bench-province: $(STAMP)
	$(BIN)/python -m bench.generate --url $(BENCH_URL)

## wrk against one pinned uvicorn worker and the hand-written floor (apt-get install wrk).
bench-load: $(STAMP)
	DATABASE_URL=$(BENCH_URL) $(BIN)/lianbao migrate
	$(BIN)/python -m bench.load --url $(BENCH_URL)

## One task page at a time, in process: database time against everything else.
bench-profile: $(STAMP)
	$(BIN)/python -m bench.profile_page --url $(BENCH_URL)

## Printing one document per kind and district: set (Typst) and signed (pyHanko); target 300 ms.
bench-render: $(STAMP)
	$(BIN)/python -m bench.render

## The statistics at province scale (issue 16): run `make bench-province` on the same
## BENCH_URL first; the register the figures read is added once, set-based.
bench-stats: $(STAMP)
	$(BIN)/python -m bench.statistics --url $(BENCH_URL)

## Page images of what a parent, a court and an employer receive (docs/images/, committed):
## specimens of a notice (山亭区), a judicial document (山亭区) and a return order (沙坡头区).
SPECIMENS := enrol_notice:370406:山亭区教育和体育局 judicial:370406:山亭区司法局 \
	return_order:640502:沙坡头区人力资源和社会保障局

doc-images: $(STAMP)
	mkdir -p var docs/images
	rm -f docs/images/*.png
	for spec in $(SPECIMENS); do \
		kind=$${spec%%:*}; rest=$${spec#*:}; district=$${rest%%:*}; issuer=$${rest#*:}; \
		$(BIN)/lianbao specimen $$kind --district $$district --issuer $$issuer \
			--out var/specimen-$$kind.pdf >/dev/null && \
		pdftoppm -r 72 -png var/specimen-$$kind.pdf docs/images/$$kind || exit 1; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## The import benchmark (issue 14): a 2,000,000-row school register, the next period's with 1 %
## changed, a 2,100,000-row police household list, into PostgreSQL (its own database).
bench-import: $(STAMP)
	$(BIN)/python -m bench.imports

## Home-visit coverage and the census jobs (issue 16; docs/prevention.md) over a 2,000,000-child
## province in its own database (dropped and rebuilt each run).
PREVENT_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_prevent
bench-home-visits: $(STAMP)
	$(BIN)/python -m bench.home_visits --url $(PREVENT_URL)

## The three comparisons at province scale (2,000,000 register, 2,100,000 household rows),
## in its own database lianbao_bench_cross: heavy, run it on a quiet machine.
bench-crosscheck: $(STAMP)
	$(BIN)/python -m bench.crosscheck

bench-household: $(STAMP)
	$(BIN)/python -m bench.household
