from tests.interviews.backends import database_reachable, register_markers  # noqa: F401


def pytest_configure(config):
    register_markers(config)
