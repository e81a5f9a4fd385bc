"""Delivering the notifications outbox to people: SMS, email, webhooks and group robots."""
