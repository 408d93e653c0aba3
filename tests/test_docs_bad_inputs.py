"""docs/en/bad_inputs.md: every row of its tables names tests that exist (found by parsing the
test files, not by running them)."""
import ast
import os.path as osp
import re
from typing import Dict, List, Set

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGE = osp.join(ROOT, 'docs', 'en', 'bad_inputs.md')
TEST_ID = re.compile(r'`(tests/[\w/]+\.py)::(\w+(?:::\w+)?)`')


def _rows(text: str) -> List[str]:
    """The body rows of the page's markdown tables (not the header or separator rows)."""
    rows, in_body = [], False
    for line in text.splitlines():
        if not line.startswith('|'):
            in_body = False
        elif re.fullmatch(r'[\s|:-]+', line):  # the separator: body rows follow
            in_body = True
        elif in_body:
            rows.append(line)
    return rows


def _test_ids(path: str) -> Set[str]:
    """``name`` of every test function and ``Class::name`` of every test method in a file."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    ids = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.name.startswith('test'):
            ids.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith('Test'):
            ids.update(f'{node.name}::{m.name}' for m in node.body
                       if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and m.name.startswith('test'))
    return ids


def test_every_row_names_tests_that_exist():
    with open(PAGE, encoding='utf-8') as f:
        rows = _rows(f.read())
    assert len(rows) >= 25, f'expected the tables of the page, found {len(rows)} rows'
    cache: Dict[str, Set[str]] = {}
    missing = []
    for row in rows:
        cited = TEST_ID.findall(row.rsplit('|', 2)[-2])  # the last column: "checked by"
        assert cited, f'a row names no test: {row[:100]}'
        for path, name in cited:
            full = osp.join(ROOT, path)
            if not osp.isfile(full):
                missing.append(f'{path} (no such file)')
                continue
            if path not in cache:
                cache[path] = _test_ids(full)
            if name not in cache[path]:
                missing.append(f'{path}::{name}')
    assert not missing, f'docs/en/bad_inputs.md names tests that do not exist: {missing}'


@pytest.mark.parametrize('row, ok', [
    ('| a | b | `tests/test_imports.py::test_no_such_test` |', False),
    ('| a | b | `tests/test_docs_bad_inputs.py::test_every_row_names_tests_that_exist` |', True),
])
def test_the_check_finds_a_missing_test(row, ok):
    path, name = TEST_ID.findall(row)[0]
    assert (name in _test_ids(osp.join(ROOT, path))) is ok
