"""Luna's Dagster resources for a test, from the settings fields it overrides (each resource takes the
ones it declares; ``database_url`` and ``data_dir`` go to all of them)."""

from resources import RESOURCES, KnowledgeResource, PlatformResource


def luna_resources(knowledge_cls: type[KnowledgeResource] = KnowledgeResource, **config: object) -> dict:
    classes: dict[str, type[PlatformResource]] = {**RESOURCES, "knowledge": knowledge_cls}
    unknown = set(config) - {name for cls in classes.values() for name in cls.model_fields}
    assert not unknown, f"no resource declares {sorted(unknown)}"
    return {key: cls(**{k: v for k, v in config.items() if k in cls.model_fields}) for key, cls in classes.items()}
