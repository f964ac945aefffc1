"""Enumerations shared by both services: roles, account states, service categories."""

from enum import StrEnum


class Role(StrEnum):
    customer = "customer"
    provider = "provider"
    admin = "admin"


class UserStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class ServiceCategory(StrEnum):
    """The marketplace's category catalogue: providers pick from it, search filters by it."""

    plumbing = "plumbing"
    electrical = "electrical"
    cleaning = "cleaning"
    gardening = "gardening"
    handyman = "handyman"
    painting = "painting"
    moving = "moving"
    hvac = "hvac"
    locksmith = "locksmith"
    pest_control = "pest_control"
    appliance_repair = "appliance_repair"
    carpentry = "carpentry"
