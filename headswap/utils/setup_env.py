import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register every headswap component into the registries.

    Importing the component packages registers them; the packages are the
    ``locations`` of the registries in :mod:`headswap.registry`, so this helper
    depends on the registries only, not on ``apis`` or ``models`` (no import
    circle through ``utils``). Checkpoint loading is also
    set up here (see :func:`headswap.utils.checkpoint.install_checkpoint_loader`),
    so that checkpoints written by headswap load under torch >= 2.6 with
    ``weights_only=True``.

    Args:
        init_default_scope: Whether to make ``headswap`` the default scope, so
            that ``type='X'`` in configs finds headswap's ``X`` first. Defaults
            to True.
    """
    from mmengine.registry import Registry

    import headswap.registry as registries
    from .checkpoint import install_checkpoint_loader
    for registry in vars(registries).values():
        if isinstance(registry, Registry):
            registry.import_from_location()
    install_checkpoint_loader()

    if init_default_scope:
        never_created = DefaultScope.get_current_instance() is None \
            or not DefaultScope.check_instance_created('headswap')
        if never_created:
            DefaultScope.get_instance('headswap', scope_name='headswap')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'headswap':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "headswap", '
                          '`register_all_modules` will force the current '
                          'default scope to be "headswap". If this is not '
                          'expected, please set `init_default_scope=False`.')
            # avoid name conflict
            new_instance_name = f'headswap-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='headswap')
