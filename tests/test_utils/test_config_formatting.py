"""memoize_config_formatting: one yapf run per config text, the same text as without it."""
from mmengine.config import Config
from mmengine.config import config as mm_config

from headswap.utils.config import memoize_config_formatting

TINY = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


def test_same_text_formatted_once_and_a_change_formats_again(monkeypatch):
    calls = []
    format_code = mm_config.FormatCode

    def counting(text, **kwargs):
        calls.append(text)
        return format_code(text, **kwargs)

    monkeypatch.setattr(mm_config, 'FormatCode', counting)
    cfg = Config.fromfile(TINY)
    plain = cfg.pretty_text
    memoize_config_formatting()
    memoize_config_formatting()  # idempotent: one layer
    calls.clear()
    assert cfg.pretty_text == plain and cfg.pretty_text == plain
    assert len(calls) == 1
    cfg.train_cfg.max_iters = 7  # another text: formatted, not the remembered one
    changed = cfg.pretty_text
    assert len(calls) == 2 and changed != plain and 'max_iters=7' in changed
    assert Config.fromstring(changed, '.py').train_cfg.max_iters == 7
