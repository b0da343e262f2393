from dagster import DynamicPartitionsDefinition

# One partition per tenant, kept in sync with the tenants table by ``sensors.tenants``.
# Time is deliberately not a second dimension (tenants x days would pass Dagster's
# ~100k partitions per asset): energy assets work incrementally instead.
tenants_partitions = DynamicPartitionsDefinition(name="tenants")
