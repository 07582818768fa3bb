from . import ROUTES, SECURITY_SCHEMES, SIGNATURE_HEADER
from .runtime.cli import main

raise SystemExit(
    main(
        None,
        package="fixturepkg",
        routes=ROUTES,
        schemes=SECURITY_SCHEMES,
        signature_header=SIGNATURE_HEADER,
    )
)
