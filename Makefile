# Convenience targets; the scripts do the work.
.PHONY: run test soak lint bench bench-all bench-scale profile translations

run:
	./scripts/run

test:
	./scripts/test

# The worker soak test for 11 minutes, past RQ's 405-second blocking pop (CI runs 150 s).
soak:
	CASEWORK_SOAK_SECONDS=660 ./scripts/test tests/integration/test_worker_uptime.py -k idle

lint:
	.venv/bin/ruff check .
	.venv/bin/bandit -q -c pyproject.toml -r casework worker.py
	.venv/bin/mypy
	.venv/bin/lint-imports

# Casework against the floor of its stack, in the same run: a table of ratios.
bench:
	./scripts/bench

bench-all:
	./scripts/bench --all

# Whole reports against one web server, then two sharing PostgreSQL and Redis (part of bench-all).
bench-scale:
	.venv/bin/python bench/load_two_hosts.py

# A flame graph of the report form and its submit under load, in profiles/.
profile:
	./scripts/profile

translations:
	.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o casework/translations/messages.pot .
	.venv/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -w 100 \
		-i casework/translations/messages.pot -d casework/translations
	.venv/bin/pybabel compile -d casework/translations
