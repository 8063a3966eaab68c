from django.db import models

from trailbook.integrations.django import AuditedManager


class Product(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)

    # Bulk operations (QuerySet.update, bulk_create, bulk_update, delete) become one
    # changeset event naming every product.
    objects = AuditedManager()

    def __str__(self) -> str:
        return self.name
