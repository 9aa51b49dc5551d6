run:
	bash scripts/setup.sh && .venv/bin/python app.py

test:
	bash scripts/setup.sh dev && .venv/bin/python -m pytest

.PHONY: run test
