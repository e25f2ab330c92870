"""regulars: know and keep your regular customers.

From a business's own order history: who is new, who comes back, who is a regular, who is
loyal, who is drifting away and who is lost — each label with the evidence behind it.

The public API is what ``__all__`` lists; everything else may change without notice.
Anywhere a table is expected, a file path or a pandas, polars or pyarrow table is accepted.

>>> import regulars
>>> settings = regulars.load_settings(database_url="sqlite:///shop.db")  # doctest: +SKIP
>>> regulars.import_file("orders", "orders.csv", settings=settings)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from regulars.analytics.params import MapParams
from regulars.api import (
    ReadOptions,
    analyze,
    backtest,
    delete_import_profile,
    import_file,
    import_profile,
    import_profiles,
    load_settings,
    loyalty_programme,
    open_loyalty,
    open_store,
    save_import_profile,
    sync_points,
    worklist,
)
from regulars.config import Settings
from regulars.domain.errors import (
    AnalysisError,
    ConfigError,
    FileFormatError,
    InputError,
    MissingColumnError,
    Problem,
    RegularsError,
    RejectedFileError,
    StoreError,
    StoreRefusedValueError,
    StoreUnavailable,
    StoreUnavailableError,
)
from regulars.domain.loyalty import (
    InsufficientPointsError,
    LoyaltyError,
    Purchase,
    ReferralRefusedError,
)
from regulars.domain.tables import SPECS, Kind
from regulars.services.importing import ImportReport
from regulars.services.loyalty import LoyaltyService, Statement

try:
    __version__ = version("regulars")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "SPECS",
    "AnalysisError",
    "ConfigError",
    "FileFormatError",
    "ImportReport",
    "InputError",
    "InsufficientPointsError",
    "Kind",
    "LoyaltyError",
    "LoyaltyService",
    "MapParams",
    "MissingColumnError",
    "Problem",
    "Purchase",
    "ReadOptions",
    "ReferralRefusedError",
    "RegularsError",
    "RejectedFileError",
    "Settings",
    "Statement",
    "StoreError",
    "StoreRefusedValueError",
    "StoreUnavailable",
    "StoreUnavailableError",
    "__version__",
    "analyze",
    "backtest",
    "delete_import_profile",
    "import_file",
    "import_profile",
    "import_profiles",
    "load_settings",
    "loyalty_programme",
    "open_loyalty",
    "open_store",
    "save_import_profile",
    "sync_points",
    "worklist",
]
