"""Energy analytics over stored readings: hourly consumption and tenant KPIs."""
