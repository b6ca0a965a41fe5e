"""Statistical validation of simkit: simulated values against closed forms and independent
implementations (``checks.py``), as tests (``test_statistical.py``) and as the table of
``docs/validation.md`` (``python -m tests.statistical.report``)."""
