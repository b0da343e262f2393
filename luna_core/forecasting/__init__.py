"""Day-ahead load forecasting for tenants: features, baselines, model, backtest, global model, and
the service every caller (assets, sensors, API, CLI) goes through.

Submodules are imported explicitly (``from luna_core.forecasting.model import LoadModel``) so that
building features or running a baseline does not pull in scikit-learn.

- ``features``: ``build_features`` (calendar in local time, lags >= 24 h, temperature), ``aggregate_load``;
- ``baselines``: ``Persistence``, ``SeasonalNaive``, ``MeanProfile``;
- ``model``: ``LoadModel`` (HistGradientBoostingRegressor), picklable, ``describe()`` for MLflow;
- ``backtest``: ``backtest``, ``backtest_window``, ``rolling_origins``, ``BacktestReport``;
- ``anonymise``: ``anonymise_profile`` and ``GlobalModel`` for tenants with little history;
- ``store``: the tenant's hourly site load, its stored forecasts and their live error (PostgreSQL);
- ``registry``: model versions in MLflow, champion and challenger aliases, ``decide_promotion``;
- ``global_model``: the global model's training set, anonymised profiles of the tenants that share;
- ``service``: train and promote, forecast, live drift, the global model, promote/rollback by an admin.
"""
