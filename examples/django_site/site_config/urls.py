from django.urls import path
from shop import views

urlpatterns = [
    path("health", views.health),
    path("products", views.products),
    path("products/reprice", views.reprice),
    path("products/<int:product_id>", views.product),
]
