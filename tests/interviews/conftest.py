from tests.interviews.backends import (  # noqa: F401  (autouse fixtures)
    database_reachable,
    keep_test_transaction_open,
    register_markers,
)


def pytest_configure(config):
    register_markers(config)
