"""One generic mapping between frozen domain dataclasses and PynamoDB items, nested lists included."""
from dataclasses import MISSING, fields, is_dataclass

from pynamodb.attributes import ListAttribute, MapAttribute


class Mapped:
    """Mixin for a Model or MapAttribute whose attributes carry a domain dataclass's field names."""
    entity_cls: type = None

    @classmethod
    def from_entity(cls, entity, **extra):
        values = dict(extra)
        for f in fields(entity):
            value = getattr(entity, f.name)
            attr = cls.get_attributes().get(f.name)
            if attr is None:
                continue
            if isinstance(attr, ListAttribute) and value is not None:
                value = [attr.element_type.from_entity(v) if is_dataclass(v) else v for v in value]
            values[f.name] = value
        return cls(**values)

    def to_entity(self):
        values = {}
        for f in fields(self.entity_cls):
            value = getattr(self, f.name, None)
            if isinstance(value, list):
                value = tuple(v.to_entity() if isinstance(v, Mapped) else v for v in value)
            elif isinstance(value, MapAttribute) and not isinstance(value, Mapped):
                value = value.as_dict()  # a raw map (a job's counts) is a plain dict in the domain
            elif value is None and (f.name not in self.get_attributes() or _has_default(f)):
                continue  # not stored, or stored before the field existed: the entity's default
            values[f.name] = value
        return self.entity_cls(**values)


def _has_default(f) -> bool:
    return f.default is not MISSING and f.default is not None
