"""Microsoft Graph ingestion: feeds (``feeds``), permissions, paced paging (``client``,
``throttle``, ``transport``), cursors (``cursor``) and tokens (``auth``).

Nothing is imported here: the settings read the feeds' names, and loading them should not
load requests and the HTTP client with them (``riskwatch scan`` never calls Graph)."""
