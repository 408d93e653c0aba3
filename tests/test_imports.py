"""The package's import graph: no circles, and ``import headswap`` loads no model code."""
import ast
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import headswap

ROOT = Path(osp.dirname(headswap.__file__))


def _modules() -> Dict[str, Path]:
    mods = {}
    for path in ROOT.rglob('*.py'):
        parts = ('headswap', ) + path.relative_to(ROOT).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        mods['.'.join(parts)] = path
    return mods


def _import_graph() -> Dict[str, Set[str]]:
    """Edges ``module -> headswap module it imports``, from every import statement.

    Imports inside functions count too (a lazy import still closes a circle when it runs).
    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``;
    importing ``a.b.c`` also points at the packages ``a.b`` (their ``__init__`` runs first),
    except the importer's own ancestors.
    """
    mods = _modules()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition('.')[0]
        return name

    graph = {}
    for mod, path in mods.items():
        package = mod if path.name == '__init__.py' else mod.rpartition('.')[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import):
                deps.update(resolve(a.name) for a in node.names if a.name.startswith('headswap'))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split('.')[:len(package.split('.')) - node.level + 1]
                    target = '.'.join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ''
                if target.split('.')[0] == 'headswap':
                    deps.update(resolve(f'{target}.{a.name}') for a in node.names)
        # importing a.b.c runs a/__init__ and a/b/__init__ first (not the importer's own)
        own = {'.'.join(mod.split('.')[:i]) for i in range(1, mod.count('.') + 2)}
        for dep in list(deps):
            parts = dep.split('.')
            deps.update('.'.join(parts[:i]) for i in range(2, len(parts)))
        graph[mod] = deps - own - {''}
    return graph


def _circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walker_finds_a_circle():
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert _circles(graph) == [['a', 'b', 'c']]
    assert _circles({'a': {'b'}, 'b': set()}) == []


def test_the_walker_sees_known_edges():
    graph = _import_graph()
    assert 'headswap.errors' in graph['headswap.utils.cli']
    assert 'headswap.registry' in graph['headswap.utils.setup_env']


def test_no_import_circles():
    circles = _circles(_import_graph())
    assert not circles, 'import circles in headswap/: ' + '; '.join(
        ' <-> '.join(c) for c in circles)


def test_import_headswap_loads_no_model_code():
    code = ('import sys; import headswap, headswap.errors; '
            'print(sorted(m for m in sys.modules if m.startswith(('
            '"headswap.models", "headswap.apis", "headswap.face", "torch", "mmseg", "mmpose", '
            '"mmagic", "mmcv"))))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, cwd=str(ROOT.parent)).stdout.strip()
    assert out == '[]'


def test_mmagic_is_not_a_dependency():
    """mmagic is an optional extra (requirements/mmagic.txt): nothing in headswap imports it."""
    users = []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ''] if isinstance(node, ast.ImportFrom) else []
            if any(n.split('.')[0] == 'mmagic' for n in names):
                users.append(mod)
    assert not users
