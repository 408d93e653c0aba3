import logging

import pytest


@pytest.fixture
def mmengine_log():
    """Messages logged through mmengine's current logger during the test (a list of str)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(f'{record.levelname} {record.getMessage()}')

    handler = Keep(level=logging.DEBUG)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
