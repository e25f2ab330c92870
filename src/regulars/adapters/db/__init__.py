"""The store's database through SQLAlchemy: one engine factory (:mod:`.engine`), every table on
one metadata (:mod:`.tables`), and the repositories beside them: the importer's and reader's
:class:`~.store.SqlStore`, the HTTP API's :class:`~.api_store.SqlApiStore` and the loyalty
ledger's :class:`~.loyalty_store.SqlLoyaltyStore`."""
