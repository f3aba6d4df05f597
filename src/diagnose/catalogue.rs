//! IBKR's errors, as users meet them, and what lies behind them, most likely first, with what to
//! do for each. Every entry names the public reports it rests on (link and month); the corpus in
//! `tests/data/failures/` holds those reports' texts and checks that `explain` names their causes.
//! Decoding goes by message text: the `id: N` in IBKR's bodies is a per-request reference, not an
//! error code. How pasted text is read (wrappers, status lines, log files) is in `explain`.

use serde::Serialize;

/// One likely cause of an error.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cause {
    /// A stable name for the cause, shared with the failure corpus (`consumer-not-active`, ...).
    pub key: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
}

/// How an entry recognises a text. Text matches outrank the others whatever the order of entries.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// Any of these fragments, compared without case, blanks or quotes (`competing:true`).
    Text(&'static [&'static str]),
    /// This HTTP status on a request whose URL contains the path fragment.
    StatusOn(u16, &'static str),
    /// A market-data snapshot whose rows carry no field values (`{}`, only `conid`).
    EmptySnapshot,
    /// This HTTP status, whatever the URL and body.
    Status(u16),
}

/// One known error.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// A short name, e.g. `invalid consumer`.
    pub title: &'static str,
    #[serde(skip)]
    pub matches: &'static [Match],
    pub meaning: &'static str,
    /// Most likely first.
    pub causes: &'static [Cause],
    /// Public reports this entry rests on: link and the month of the report.
    pub sources: &'static [&'static str],
}

const fn cause(key: &'static str, cause: &'static str, fix: &'static str) -> Cause {
    Cause { key, cause, fix }
}

// Causes that several entries share, written once.
const NOT_ACTIVE: Cause = cause(
    "consumer-not-active",
    "The consumer key was registered recently and IBKR has not activated it yet: self-registered consumers start working after IBKR's weekend reset, some after the next business day, some later.",
    "Change nothing; let `ibkr-probe activation --watch` tell you the moment it works.",
);
const KEY_TYPO: Cause = cause(
    "consumer-key-typo",
    "The consumer key is mistyped (9 characters, case-sensitive) or belongs to another registration: IBKR answers exactly as for a key that is not active yet.",
    "Compare IB_CONSUMER_KEY character by character with the self-service portal.",
);
const TEST_CONSUMER: Cause = cause(
    "test-consumer-paper",
    "The credentials are IBKR's documentation example (consumer TESTCONS, realm test_realm), not a registration of your own; public reports show them refused, also for paper accounts.",
    "Register your own consumer key, keys and access token in the self-service portal; its realm is limited_poa.",
);
const NOT_ELIGIBLE: Cause = cause(
    "account-not-eligible",
    "The account type is not eligible for the Web API over OAuth (IBKR has told individual and some paper accounts that OAuth is not offered to them), or IBKR has yet to enable it on the account.",
    "Ask IBKR support whether OAuth 1.0a is enabled for this account; use the Client Portal Gateway if it is not.",
);
const TOKEN_WRONG: Cause = cause(
    "access-token-wrong",
    "The access token or its secret is mistyped or cut short, belongs to another consumer, or was revoked when a new one was generated.",
    "Copy IB_ACCESS_TOKEN and IB_ACCESS_TOKEN_SECRET again, together, from the portal; `ibkr-probe diagnose` checks the secret decrypts.",
);
const NEW_TOKEN: Cause = cause(
    "ibkr-incident",
    "A problem on IBKR's side with the access token: the same credentials had worked, and IBKR support advised a new token.",
    "Press Generate Token in the self-service portal and copy the new access token and secret at once (the portal shows them only once); keys and consumer key stay.",
);
const INCIDENT: Cause = cause(
    "ibkr-incident",
    "A failure on IBKR's side (outage, maintenance, a broken backend for some endpoints), often for days and for several users at once.",
    "Retry later with backoff; if it lasts, give IBKR support the times and the `id:` reference numbers.",
);
const RESTART: Cause = cause(
    "ibkr-restart",
    "IBKR restarted its servers (nightly, around midnight to 01:00 US Eastern, and on weekends): sessions end and requests time out while it does.",
    "Treat timeouts and 5xx around the reset as expected: wait, then start again from the live session token and ssodh/init.",
);
const NO_SESSION_INIT: Cause = cause(
    "no-brokerage-session",
    "No brokerage session: POST /iserver/auth/ssodh/init was not called after the live session token, or had not finished. /portfolio calls work without it; /iserver calls do not.",
    "Call /iserver/auth/ssodh/init with {\"publish\":true,\"compete\":true}, wait until /iserver/auth/status says authenticated, then call /iserver/accounts.",
);
const IDLE: Cause = cause(
    "session-idle",
    "The session expired: nothing called /tickle for more than about 5 minutes.",
    "Tickle about once a minute; after a drop, run ssodh/init again.",
);
const COMPETING: Cause = cause(
    "competing-session",
    "Another login took the brokerage session: TWS, the mobile app, the website or a gateway with the same username, or a second OAuth client on another IP. One username has one brokerage session.",
    "Log out of the other session (or use a second username for it); then call ssodh/init with \"compete\":true to take the session back.",
);
const READ_ONLY: Cause = cause(
    "read-only-username",
    "The IBKR username behind the OAuth consumer has the read-only attribute: queries work, orders fail with misleading messages.",
    "In Client Portal, check the user's settings for read-only access, or use a username with trading permission.",
);
const ACCOUNT_ID: Cause = cause(
    "wrong-account-id",
    "The account id in the path or in `acctId` is not one this session trades: mistyped, a paper id (DU...) with live credentials or the reverse, or not among /iserver/accounts.",
    "Take the id from /iserver/accounts of this same session and use it in both the path and acctId.",
);
const ACCOUNTS_FIRST: Cause = cause(
    "accounts-first",
    "/iserver/accounts was not called in this brokerage session: IBKR needs it before market data, orders and account endpoints.",
    "Call GET /iserver/accounts once after ssodh/init (and after every new session).",
);
const ORDER_FIELDS: Cause = cause(
    "order-fields",
    "An order field has a value IBKR does not take: orderType LIMIT instead of LMT, MARKET instead of MKT, a tif the contract does not allow, a price on a market order, outsideRTH for a contract without it, a quantity or conid of the wrong kind.",
    "Compare the order with IBKR's order reference (orderType LMT/MKT/STP/STOP_LIMIT, tif DAY/GTC/IOC) and try it with /orders/whatif first.",
);
const QUESTION: Cause = cause(
    "order-question",
    "IBKR answered the order with a confirmation question (price cap, size limit, precautionary warning) that the client did not answer; the order waits until POST /iserver/reply/{id} says {\"confirmed\":true}.",
    "Answer each question through /iserver/reply/{id} (ibind: give an answer for it in place_order's answers); a new kind of question needs a new answer.",
);
const CLIENT_BUG: Cause = cause(
    "client-bug",
    "A bug in the client library, after IBKR changed an answer's shape or an endpoint; fixed in a later release.",
    "Upgrade the client (ibind, IBeam, ...) and check its issue tracker for the text.",
);
const PACING: Cause = cause(
    "pacing",
    "Too many requests: about 10 per second over all endpoints, and less on some (e.g. /iserver/account/orders 1 per 5 s, snapshots 10/s); repeat offenders sit in a penalty box of about 10 minutes.",
    "Pace requests (ibkr-probe paces with `--rate`); after a 429, wait minutes, not seconds.",
);
const NO_DATA_PERMISSION: Cause = cause(
    "no-market-data-permission",
    "No market-data subscription for the instrument: snapshots stay empty, and a client that retries until values arrive runs into 429.",
    "Check Client Portal > Settings > Market Data Subscriptions; on paper, share the live account's subscriptions; bound retries.",
);
const WARMUP: Cause = cause(
    "snapshot-warmup",
    "The first snapshot request for a conid only subscribes: it returns no fields (or only conid), and the values come on a later request.",
    "Request once, then poll (about 1 s apart) until the fields arrive; ibkr-probe's snapshot-warmup scenario shows the pattern.",
);
const SMD_EXPIRY: Cause = cause(
    "smd-expiry",
    "Since April 2026 IBKR ends each websocket market-data (smd) subscription after a fixed time (10 minutes in its changelog, 15 in its docs and support's words), while the socket stays open.",
    "Send smd+CONID again about every 9 minutes.",
);
const TIMEOUT_NETWORK: Cause = cause(
    "network",
    "The client's own network: DNS, a proxy, TLS interception or a firewall between it and api.ibkr.com.",
    "Try `curl -sS https://api.ibkr.com/v1/api/tickle` from the same machine; check proxies.",
);

/// The catalogue. Within a kind of match, earlier entries win.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        title: "no access secret key found",
        matches: &[Match::Text(&["no access secret key found"])],
        meaning: "IBKR does not know the access token named in the live session token request.",
        causes: &[TOKEN_WRONG, NEW_TOKEN, NOT_ACTIVE],
        sources: &["https://github.com/Voyz/ibind/issues/113 (2025-06)"],
    },
    Entry {
        title: "invalid consumer",
        matches: &[Match::Text(&["invalid consumer"])],
        meaning: "IBKR does not accept this consumer key (yet). A key that is not active and a mistyped key get the same answer.",
        causes: &[
            NOT_ACTIVE,
            KEY_TYPO,
            TEST_CONSUMER,
            cause(
                "realm-mismatch",
                "The realm does not fit: a self-registered consumer uses realm limited_poa.",
                "Set IB_REALM=limited_poa; `ibkr-probe diagnose` checks it.",
            ),
        ],
        sources: &[
            "https://github.com/nsirons/ibkr_web_client/issues/4 (2024-12)",
            "https://github.com/nsirons/ibkr_web_client/issues/5 (2025-01)",
            "https://github.com/Voyz/ibind/issues/109 (2025-05)",
        ],
    },
    Entry {
        title: "LST failed",
        matches: &[Match::Text(&["lst failed", "live session token failed"])],
        meaning: "IBKR refused the live session token request: its RSA-SHA256 signature or its inputs did not check out.",
        causes: &[
            cause(
                "prepend-wrong",
                "The prepend is wrong: the access token secret was not decrypted, was decrypted with the signature key instead of the encryption key, or was written as uppercase hex.",
                "Run `ibkr-probe diagnose`: it decrypts the secret and says which key works.",
            ),
            cause(
                "base-string-wrong",
                "The base string differs from IBKR's: URL, parameter order or encoding, a missing diffie_hellman_challenge, or realm inside it.",
                "Put your values in a vector file and run `ibkr-probe diagnose compare FILE` to name the mistake.",
            ),
            cause(
                "signature-key-mismatch",
                "The signature key is not the one whose public half was uploaded, or the signature and encryption keys are swapped.",
                "Compare the SHA-256 fingerprints `ibkr-probe diagnose` prints with the keys in the portal.",
            ),
            cause(
                "clock-skew",
                "The timestamp is stale: the machine's clock is off.",
                "Sync the clock (NTP); `ibkr-probe diagnose --online` shows the skew from IBKR's Date header.",
            ),
        ],
        sources: &["https://github.com/Voyz/ibind/issues/113 (2025-06)"],
    },
    Entry {
        title: "Invalid signature",
        matches: &[Match::Text(&["invalid signature"])],
        meaning: "A request after the LST was refused: its HMAC-SHA256 signature did not verify with the session's LST.",
        causes: &[
            cause(
                "k-encoding",
                "K was encoded differently from Java's BigInteger.toByteArray() (padded to the prime's length, or without the leading 00 sign byte): this fails on about half of all sessions.",
                "Encode K minimally with a leading 00 when its top bit is set; `ibkr-probe vectors verify` pins this with the k-high-bit and k-short vectors.",
            ),
            cause(
                "lst-as-text",
                "The LST was used as its base64 text instead of its decoded bytes as the HMAC key.",
                "Base64-decode the LST before keying HMAC-SHA256.",
            ),
            cause(
                "base-string-wrong",
                "The base string differs: realm inside it, query parameters encoded twice, `/` not encoded, or a URL other than the one requested.",
                "Compare with `ibkr-probe diagnose compare FILE`; the mock's log names the mistake (`ibkr-probe mock -v`).",
            ),
        ],
        sources: &[],
    },
    Entry {
        title: "failed to generate sso dh token",
        matches: &[Match::Text(&["failed to generate sso dh token"])],
        meaning: "ssodh/init failed on IBKR's side (500): no brokerage session could be opened.",
        causes: &[NOT_ELIGIBLE, INCIDENT, COMPETING],
        sources: &["https://github.com/Voyz/ibind/issues/152 (2026-05)"],
    },
    Entry {
        title: "session ended (KeyError 'iserver')",
        matches: &[Match::Text(&["keyerror:iserver"])],
        meaning: "A client crashed reading a status answer without its `iserver` part: the brokerage session was gone.",
        causes: &[CLIENT_BUG, RESTART, COMPETING],
        sources: &[
            "https://github.com/Voyz/ibeam/issues/243 (2025-03)",
            "https://github.com/Voyz/ibeam/issues/268 (2025-11)",
        ],
    },
    Entry {
        title: "no session",
        matches: &[Match::Text(&["error:nosession"])],
        meaning: "The server has no session for this client; /tickle answers it with HTTP 200, not an error status.",
        causes: &[RESTART, IDLE, CLIENT_BUG],
        sources: &["https://github.com/Voyz/ibeam/issues/242 (2025-03)"],
    },
    Entry {
        title: "competing session",
        matches: &[Match::Text(&["competing:true", "competing=true"])],
        meaning: "Another login holds this username's brokerage session.",
        causes: &[COMPETING, RESTART, NO_SESSION_INIT],
        sources: &["https://github.com/Voyz/ibeam/issues/40 (2021-12)"],
    },
    Entry {
        title: "no bridge",
        matches: &[Match::Text(&["nobridge", "initsessionfirst"])],
        meaning: "There is no brokerage session behind the OAuth session.",
        causes: &[NO_SESSION_INIT, IDLE, COMPETING, RESTART],
        sources: &[
            "https://github.com/Voyz/ibind/issues/44 (2025-01)",
            "https://github.com/Voyz/ibind/pull/34 (2025-01)",
            "https://github.com/Voyz/ibeam/issues/117 (2022-11)",
        ],
    },
    Entry {
        title: "not authenticated",
        matches: &[Match::Text(&[
            "authenticated:false",
            "notauthenticated",
            "statusunauthenticated",
        ])],
        meaning: "The brokerage session is not (or no longer) authenticated.",
        causes: &[NO_SESSION_INIT, COMPETING, RESTART, IDLE],
        sources: &[
            "https://github.com/Voyz/ibeam/issues/19 (2021-07)",
            "https://github.com/Voyz/ibeam/issues/254 (2025-05)",
        ],
    },
    Entry {
        title: "force compete without compete",
        matches: &[Match::Text(&["forcecompetecapabilitymustbeused"])],
        meaning: "ssodh/init (or reauthenticate) asked to force the session without asking to compete for it.",
        causes: &[cause(
            "request-body",
            "The request body sets a force option but not \"compete\": true.",
            "Send {\"publish\":true,\"compete\":true} to /iserver/auth/ssodh/init.",
        )],
        sources: &["https://github.com/Voyz/ibeam/issues/73 (2022-04)"],
    },
    Entry {
        title: "Please query /accounts first",
        matches: &[Match::Text(&["query/accountsfirst", "accountsfirst"])],
        meaning: "An /iserver endpoint was called before /iserver/accounts in this brokerage session.",
        causes: &[ACCOUNTS_FIRST],
        sources: &[],
    },
    Entry {
        title: "Session is misconfigured",
        matches: &[Match::Text(&["sessionismisconfigured"])],
        meaning: "IBKR refused an order because of the user's setup, not the order.",
        causes: &[READ_ONLY, NOT_ELIGIBLE],
        sources: &["https://github.com/Voyz/ibind/issues/111 (2025-06)"],
    },
    Entry {
        title: "invalid account id",
        matches: &[Match::Text(&["invalidaccountid", "accountidisnotvalid"])],
        meaning: "IBKR does not take this account for the request.",
        causes: &[ACCOUNT_ID, READ_ONLY, ACCOUNTS_FIRST],
        sources: &[
            "https://github.com/Voyz/ibind/issues/111 (2025-06)",
            "https://github.com/Voyz/ibind/issues/122 (2025-07)",
        ],
    },
    Entry {
        title: "order confirmation question not answered",
        matches: &[Match::Text(&["noanswerfoundforquestion"])],
        meaning: "The order stopped at one of IBKR's confirmation questions (ibind raises this when it has no answer for it).",
        causes: &[QUESTION, ORDER_FIELDS],
        sources: &[
            "https://github.com/Voyz/ibind/issues/42 (2025-01)",
            "https://github.com/Voyz/ibind/issues/135 (2025-10)",
        ],
    },
    Entry {
        title: "reply id not found",
        matches: &[Match::Text(&["replyidnotfound"])],
        meaning: "POST /iserver/reply/{id} named a confirmation IBKR no longer holds.",
        causes: &[
            cause(
                "reply-id-stale",
                "The reply id was already answered, belongs to another session, or expired: the question must be answered soon after the order, in the same brokerage session.",
                "Answer the question right after placing the order, once, with the id from that answer.",
            ),
            NO_SESSION_INIT,
        ],
        sources: &["https://github.com/Voyz/ibind/issues/103 (2025-05)"],
    },
    Entry {
        title: "No Contracts retrieved",
        matches: &[Match::Text(&["nocontractsretrieved"])],
        meaning: "/iserver/secdef/info found no contract for these parameters.",
        causes: &[cause(
            "conid-wrong",
            "The parameters name no contract: month must be MMMYY (APR25, not 20250404), the strike must come from /iserver/secdef/strikes, and the underlying's conid must have been searched first.",
            "Call /iserver/secdef/search, then /secdef/strikes for the month, then /secdef/info with those values.",
        )],
        sources: &["https://github.com/Voyz/ibind/issues/91 (2025-04)"],
    },
    Entry {
        title: "Failed to set Key",
        matches: &[Match::Text(&["failedtosetkey", "failedtoputconsumerinfo"])],
        meaning: "The self-service portal refused a key file upload (403).",
        causes: &[
            cause(
                "key-upload",
                "The PEM file was changed on its way (made on another machine and copied, line endings converted, an editor's re-save); uploads of freshly generated files succeed.",
                "Generate the files on the machine you upload from (`ibkr-probe keys generate DIR` or openssl) and upload them untouched.",
            ),
            NOT_ELIGIBLE,
        ],
        sources: &[
            "https://github.com/Voyz/ibind/issues/97 (2025-04)",
            "https://github.com/Voyz/ibind/issues/98 (2025-04)",
        ],
    },
    Entry {
        title: "invalid base64 secret",
        matches: &[Match::Text(&["binascii.error", "invalidbase64", "incorrectpadding"])],
        meaning: "A value that should be base64 (usually the access token secret) does not decode.",
        causes: &[
            TOKEN_WRONG,
            cause(
                "prepend-wrong",
                "The secret is decrypted from the wrong value (a path, the token instead of the secret).",
                "Check IB_ACCESS_TOKEN_SECRET holds the portal's base64 secret; `ibkr-probe diagnose` decrypts it.",
            ),
        ],
        sources: &["https://github.com/Voyz/ibind/issues/101 (2025-05)"],
    },
    Entry {
        title: "keep-alive (tickle) failed",
        matches: &[Match::Text(&[
            "ticklererror",
            "timeouterror",
            "readtimeout",
            "timedout",
        ])],
        meaning: "A request, often the periodic /tickle, got no answer in time.",
        causes: &[RESTART, TIMEOUT_NETWORK, INCIDENT],
        sources: &["https://github.com/Voyz/ibind/issues/115 (2025-06)"],
    },
    Entry {
        title: "Access Denied",
        matches: &[Match::Text(&["accessdenied"])],
        meaning: "The Client Portal Gateway refused the caller (often as 404 or 403).",
        causes: &[cause(
            "gateway-ip-not-allowed",
            "The caller's address is not in the gateway's `ips: allow` list of the conf.yaml actually in use (a custom file not picked up, a Docker or Kubernetes range missing).",
            "Add the client's address range to ips/allow in the conf.yaml the gateway loads, and check its log says it loaded it.",
        )],
        sources: &[
            "https://github.com/Voyz/ibeam/issues/89 (2022-06)",
            "https://github.com/Voyz/ibeam/issues/239 (2025-03)",
            "https://github.com/Voyz/ibeam/issues/249 (2025-04)",
        ],
    },
    Entry {
        title: "gateway login rejected",
        matches: &[Match::Text(&["invalidusernamepasswordcombination"])],
        meaning: "The gateway's login page refused the username and password.",
        causes: &[
            cause(
                "login-rejected",
                "The username or password is wrong, or the user is locked after failed attempts.",
                "Log in on IBKR's website with the same values; reset the password if that fails too.",
            ),
            INCIDENT,
        ],
        sources: &["https://github.com/Voyz/ibeam/issues/100 (2022-09)"],
    },
    Entry {
        title: "paper user in live mode",
        matches: &[Match::Text(&["selectedtheliveaccountmode"])],
        meaning: "The gateway's login page was submitted in live mode for a paper-trading user.",
        causes: &[cause(
            "client-bug",
            "The automated login submits the live mode; IBKR added a live/paper switch to the login page.",
            "Upgrade the login automation (IBeam 0.5.7 or later with IBEAM_USE_PAPER_ACCOUNT) or choose paper mode.",
        )],
        sources: &["https://github.com/Voyz/ibeam/issues/238 (2025-03)"],
    },
    Entry {
        title: "websocket client stuck after a close",
        matches: &[Match::Text(&["websocketappshouldbeclosed"])],
        meaning: "A websocket client tried to reconnect while its previous connection object was still set.",
        causes: &[CLIENT_BUG],
        sources: &["https://github.com/Voyz/ibind/issues/147 (2026-04)"],
    },
    Entry {
        title: "websocket text not UTF-8",
        matches: &[Match::Text(&["unicodedecodeerror", "codeccantdecode"])],
        meaning: "A websocket frame held bytes that are not UTF-8 (seen on IBKR's order and trade topics).",
        causes: &[cause(
            "client-bug",
            "The client validates websocket text as UTF-8 and its receiving thread dies on IBKR's frames.",
            "Upgrade the client (ibind after PR 149 skips UTF-8 validation) or decode leniently.",
        )],
        sources: &["https://github.com/Voyz/ibind/issues/148 (2026-04)"],
    },
    Entry {
        title: "market-data stream ended by itself",
        matches: &[Match::Text(&["terminateautomatically"])],
        meaning: "IBKR ends websocket market-data (smd) subscriptions after a fixed time; no message announces it.",
        causes: &[SMD_EXPIRY],
        sources: &["https://github.com/Voyz/ibind/issues/145 (2026-04-16)"],
    },
    Entry {
        title: "websocket stream went quiet",
        matches: &[Match::Text(&[
            "cantreceivethemessages",
            "stoppedreceiving",
            "nodataaftersubscrib",
            "nomessagesafter",
        ])],
        meaning: "The websocket stays open but a subscribed topic sends nothing more.",
        causes: &[
            cause(
                "orders-filter-cache",
                "For order updates (sor): a GET /iserver/account/orders call with `filters` stops order details from reaching the websocket until a call with force=true.",
                "Call /iserver/account/orders?force=true after every filtered call and before subscribing to sor.",
            ),
            SMD_EXPIRY,
            IDLE,
            NO_DATA_PERMISSION,
        ],
        sources: &["https://github.com/Voyz/ibind/issues/129 (2025-09-03)"],
    },
    Entry {
        title: "websocket handshake refused (403)",
        matches: &[Match::Text(&[
            "handshakestatus403",
            "refusedwithhttp403",
            "unexpectedresponsecode:403",
            "unexpectedserverresponse:403",
        ])],
        meaning: "IBKR refused to open the websocket (HTTP 403 on the upgrade request) before looking at the session.",
        causes: &[cause(
            "ws-user-agent",
            "The upgrade request has no User-Agent, or not the gateway's: api.ibkr.com refuses an OAuth client's websocket without `User-Agent: ClientPortalGW/1`.",
            "Send the header `User-Agent: ClientPortalGW/1` on the websocket request, along with the `api` cookie.",
        )],
        sources: &[
            "https://github.com/cquillen/ibkr-conduit/commit/dbbc63b6a838e98b370f41dd2dea1325eb86d77c (2026-03)",
        ],
    },
    Entry {
        title: "websocket handshake refused (401)",
        matches: &[Match::Text(&[
            "handshakestatus401",
            "refusedwithhttp401",
            "unexpectedresponsecode:401",
            "unexpectedserverresponse:401",
        ])],
        meaning: "IBKR refused to open the websocket for the session it was given (HTTP 401 on the upgrade request).",
        causes: &[
            cause(
                "ws-oauth-token",
                "The `oauth_token` query parameter is not the access token from the self-service portal (clients that work send the access token there, not the live session token).",
                "Open wss://api.ibkr.com/v1/api/ws?oauth_token=<IB_ACCESS_TOKEN>, the same access token the REST requests sign with.",
            ),
            cause(
                "ws-session-cookie",
                "The `api` cookie is missing, in the older gateway form `{\"session\": ...}`, or not the session of a current POST /tickle.",
                "Call POST /tickle just before connecting and send its `session` value bare, as `Cookie: api=<session>`.",
            ),
            NO_SESSION_INIT,
        ],
        sources: &[
            "https://github.com/Voyz/ibind/commit/c5ac715c3380af7dc59d50d68d3a5bda67e119b2 (2025-01)",
            "https://github.com/Voyz/ibind/commit/49b4e3c621b9b88bfc974804dd329619f8b3a192 (2025-01)",
        ],
    },
    Entry {
        title: "websocket closed (1000)",
        matches: &[Match::Text(&[
            "on_closeerror:1000",
            "closecode1000",
            "closedwithcode1000",
            "closedbytheserverwithcode1000",
        ])],
        meaning: "The server closed the websocket with a normal-closure code and no reason; no public report established why.",
        causes: &[NO_SESSION_INIT, IDLE, RESTART],
        sources: &["https://github.com/Voyz/ibind/issues/7 (2024-05-31)"],
    },
    Entry {
        title: "websocket without an authenticated session",
        matches: &[Match::Text(&["lackofauthentication", "acquiringsessioncookiefailed"])],
        meaning: "The websocket reconnected, but the session behind it is no longer authenticated, so subscriptions cannot be made again.",
        causes: &[RESTART, NO_SESSION_INIT, TIMEOUT_NETWORK],
        sources: &["https://github.com/Voyz/ibind/issues/81 (2025-03-26)"],
    },
    Entry {
        title: "Resource not found",
        matches: &[Match::Text(&["resourcenotfound"])],
        meaning: "The server has no such path (404).",
        causes: &[
            cause(
                "client-bug",
                "The client calls a path IBKR retired (e.g. /iserver/marketdata/{conid}/unsubscribe, now POST /iserver/marketdata/unsubscribe).",
                "Upgrade the client; check the path against IBKR's current reference.",
            ),
            cause(
                "base-url",
                "The base URL misses /v1/api (or has it twice), or points at a gateway path.",
                "Use https://api.ibkr.com/v1/api for OAuth, https://localhost:5000/v1/api for the gateway.",
            ),
        ],
        sources: &["https://github.com/Voyz/ibind/issues/54 (2025-02)"],
    },
    Entry {
        title: "conid(s) missing",
        matches: &[Match::Text(&["conid(s)missing", "conidsmissing"])],
        meaning: "A snapshot request without `conids`.",
        causes: &[cause(
            "conid-wrong",
            "The conids parameter is missing or empty.",
            "Pass conids=1,2,3 (at most 100) and fields=31,84,86.",
        )],
        sources: &[],
    },
    Entry {
        title: "too many requests",
        matches: &[Match::Text(&["toomanyrequests", "ratelimit"]), Match::Status(429)],
        meaning: "IBKR's pacing limit was exceeded (429).",
        causes: &[PACING, NO_DATA_PERMISSION],
        sources: &[],
    },
    Entry {
        title: "failed to process request",
        matches: &[Match::Text(&["failedtoprocessrequest"])],
        meaning: "A generic IBKR server failure (often on /tickle).",
        causes: &[INCIDENT, RESTART],
        sources: &[],
    },
    Entry {
        title: "service unavailable",
        matches: &[
            Match::Text(&["serviceunavailable", "requestaborted"]),
            Match::Status(503),
        ],
        meaning: "IBKR aborted the request (503), e.g. after more than 10 s.",
        causes: &[INCIDENT, RESTART],
        sources: &[
            "https://github.com/Voyz/ibeam/issues/222 (2024-11)",
            "https://github.com/Voyz/ibeam/issues/266 (2025-11)",
        ],
    },
    Entry {
        title: "401 on the live session token request",
        matches: &[Match::StatusOn(401, "live_session_token")],
        meaning: "IBKR refused the live session token request; the body (not shown here) says which way: `invalid consumer`, `LST failed` or `No access secret key found`.",
        causes: &[NOT_ACTIVE, TEST_CONSUMER, KEY_TYPO, TOKEN_WRONG],
        sources: &[
            "https://github.com/Voyz/ibind/issues/61 (2025-02)",
            "https://github.com/Voyz/ibind/issues/109 (2025-05)",
        ],
    },
    Entry {
        title: "410 Gone on ssodh/init",
        matches: &[Match::StatusOn(410, "ssodh"), Match::Status(410)],
        meaning: "IBKR answered 410 Gone with an empty body; seen on /iserver/auth/ssodh/init.",
        causes: &[
            cause(
                "unknown",
                "No public report found the cause; it has been seen with paper accounts over OAuth.",
                "Note the time and retry later; if it persists, ask IBKR support with the request time.",
            ),
            NOT_ELIGIBLE,
        ],
        sources: &["https://github.com/Voyz/ibind/issues/134 (2025-10)"],
    },
    Entry {
        title: "500 on an order",
        matches: &[Match::StatusOn(500, "/orders")],
        meaning: "IBKR answered an order request with 500, usually with an empty body.",
        causes: &[ORDER_FIELDS, READ_ONLY, ACCOUNT_ID],
        sources: &["https://github.com/Voyz/ibind/issues/108 (2025-05)"],
    },
    Entry {
        title: "snapshot without values",
        matches: &[Match::EmptySnapshot],
        meaning: "A market-data snapshot answered without field values ({} or only conid).",
        causes: &[WARMUP, NO_DATA_PERMISSION, ACCOUNTS_FIRST],
        sources: &["https://github.com/Voyz/ibind/issues/107 (2025-05)"],
    },
    Entry {
        title: "401 Unauthorized",
        matches: &[Match::Status(401)],
        meaning: "An OAuth or session refusal; the body says which (`invalid consumer`, `LST failed`, `Invalid signature`, `not authenticated`).",
        causes: &[NOT_ACTIVE, NOT_ELIGIBLE, NO_SESSION_INIT],
        sources: &["https://github.com/hackingthemarkets/interactive-brokers-web-api/issues/14 (2025-10)"],
    },
    Entry {
        title: "500 Internal Server Error",
        matches: &[Match::Status(500)],
        meaning: "A failure inside IBKR; the body, if any, says more.",
        causes: &[INCIDENT, RESTART, ORDER_FIELDS],
        sources: &[
            "https://github.com/Voyz/ibind/issues/137 (2025-11)",
            "https://github.com/Voyz/ibeam/issues/163 (2023-10)",
        ],
    },
    Entry {
        title: "400 Bad Request",
        matches: &[Match::Status(400)],
        meaning: "IBKR refused the request's parameters or the session state; the body's `error` says which.",
        causes: &[NO_SESSION_INIT, ACCOUNTS_FIRST, ACCOUNT_ID],
        sources: &[],
    },
];

/// `id:` numbers publicly seen in IBKR's error bodies, with the message each came with.
pub const SEEN_IDS: &[(u64, u64, &str)] = &[
    (764, 764, "invalid consumer"),
    (797, 797, "invalid consumer"),
    (3931, 3931, "invalid consumer"),
    (19030, 19030, "invalid consumer"),
    (39687, 39687, "invalid consumer"),
    (92177, 92177, "invalid consumer"),
    (770, 770, "LST failed"),
    (778, 796, "LST failed"),
    (118871, 118871, "LST failed"),
];
