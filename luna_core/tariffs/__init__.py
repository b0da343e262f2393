"""Tariffs as data: what each tenant pays per kWh, per month and per kW of peak, and what it is paid
for feed-in; bills, all-in prices per quarter-hour and comparisons between tariffs (docs/energy.md)."""
