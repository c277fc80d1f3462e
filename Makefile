# The two commands a newcomer needs: `make demo` and `make test`. Everything they need is
# installed here, into .venv, from the package registries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: demo test install secrets lint typecheck pytest pytest-sqlite pytest-postgres messages check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The secret key and the data keys under var/ (0600): created once, kept afterwards. Importing
# the settings creates nothing; tests and commands read what this wrote.
secrets: $(VENV)/.installed
	$(BIN)/shouwang init-secrets

install: $(VENV)/.installed secrets

demo: install
	$(BIN)/shouwang demo --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: install
	$(BIN)/mypy src

# The suite runs on SQLite always, and again on PostgreSQL when SHOUWANG_TEST_DATABASE_URL
# names one (CI sets it). Browser tests need Debian's chromium (/usr/bin/chromium).
pytest-sqlite: install
	env -u SHOUWANG_DATABASE_URL $(BIN)/pytest -q

pytest-postgres: install
	@if [ -n "$$SHOUWANG_TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $$SHOUWANG_TEST_DATABASE_URL"; \
	  SHOUWANG_DATABASE_URL="$$SHOUWANG_TEST_DATABASE_URL" $(BIN)/pytest -q; \
	else echo "SHOUWANG_TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

check-deploy: install
	SHOUWANG_HTTPS=1 SHOUWANG_ALLOWED_HOSTS=shouwang.example.org \
	  $(BIN)/shouwang check --deploy --fail-level WARNING

test: lint typecheck check-deploy pytest-sqlite pytest-postgres

messages: install
	cd src/shouwang && ../../$(BIN)/shouwang makemessages -l zh_Hans --no-obsolete && \
	  ../../$(BIN)/shouwang compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
