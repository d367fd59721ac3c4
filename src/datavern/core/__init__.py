"""Shared foundations: settings, database, audit log, errors, i18n, clock."""
