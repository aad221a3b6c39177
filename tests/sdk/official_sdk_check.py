#!/usr/bin/env python3
"""Drive the ZPA simulator through Zscaler's official Python SDK (zscaler-sdk-python).

Usage: official_sdk_check.py BASE_URL CUSTOMER_ID CLIENT_ID CLIENT_SECRET [KEY_CLIENT_ID PRIVATE_KEY_FILE]

With KEY_CLIENT_ID and PRIVATE_KEY_FILE (a PKCS#8 PEM), the OneAPI client also
signs in with the SDK's `privateKey` (a JWT client assertion) and lists CBI
profiles and Microtenants.

The SDK's code is used unchanged. It has no base-URL setting, so:
- legacy client: the simulator is registered as one more cloud name in the
  SDK's own `zscaler.constants.ZPA_BASE_URLS` table (the table the client reads
  its base URL from);
- OneAPI client: its two URL builders (the ZIdentity token URL and the API
  gateway base URL) are pointed at the simulator.

Exit codes: 0 all checks passed, 1 a check failed, 77 the SDK is not installed.
"""

import sys

try:
    import zscaler  # noqa: F401
    from zscaler import constants
    from zscaler.oneapi_client import Client, LegacyZPAClient
    from zscaler.oneapi_oauth_client import OAuth
    from zscaler.request_executor import RequestExecutor
except ImportError as err:  # pragma: no cover - depends on the environment
    print(f"SKIP: zscaler-sdk-python is not importable ({err})", file=sys.stderr)
    sys.exit(77)


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)
    print(f"ok - {message}")


def ok(result, what):
    """Unpacks the SDK's (result, response, error) triple."""
    value, response, error = result
    check(error is None, f"{what} (error: {error})")
    return value, response


def body_of(response):
    body = response.get_body()
    return body if body is not None else {}


def exercise(zpa, label, customer_id):
    # Microtenants
    tenants, _ = ok(zpa.microtenants.list_microtenants(), f"{label}: list Microtenants")
    check(any(t.name == "Default" for t in tenants), f"{label}: the Default Microtenant is listed")

    created, response = ok(
        zpa.microtenants.add_microtenant(
            name=f"sdk {label} mt",
            description="made by the official SDK",
            enabled=True,
            criteria_attribute="AuthDomain",
            criteria_attribute_values=[f"sdk-{label}.example.com"],
        ),
        f"{label}: create a Microtenant",
    )
    check(response.get_status() == 201, f"{label}: create answers 201")
    mt_id = created.id
    check(mt_id and int(mt_id) > 2**53, f"{label}: a big decimal string id ({mt_id})")
    raw = body_of(response)
    user = raw.get("user") or {}
    check(str(user.get("username", "")).startswith(f"mtAdmin_{mt_id}@"), f"{label}: the admin user comes with the create")
    check(len(user.get("password", "")) >= 8, f"{label}: with its password")

    fetched, response = ok(zpa.microtenants.get_microtenant(mt_id), f"{label}: get the Microtenant")
    check(fetched.name == f"sdk {label} mt", f"{label}: same name")
    check("user" not in body_of(response), f"{label}: no user on GET")

    found, _ = ok(
        zpa.microtenants.list_microtenants(query_params={"search": f"sdk {label} mt"}),
        f"{label}: search by name (the SDK sends name+EQ+<name>)",
    )
    check([t.id for t in found] == [mt_id], f"{label}: search finds exactly it")

    summary, _ = ok(zpa.microtenants.get_microtenant_summary(), f"{label}: Microtenant summary")
    check(any(s.id == mt_id for s in summary), f"{label}: summary lists it")

    _, response = ok(
        zpa.microtenants.update_microtenant(
            mt_id,
            name=f"sdk {label} mt 2",
            enabled=False,
            criteria_attribute="AuthDomain",
            criteria_attribute_values=[f"sdk-{label}.example.com"],
        ),
        f"{label}: update the Microtenant",
    )
    check(response.get_status() == 204, f"{label}: update answers 204")
    fetched, _ = ok(zpa.microtenants.get_microtenant(mt_id), f"{label}: read back")
    check(fetched.name == f"sdk {label} mt 2" and fetched.enabled is False, f"{label}: the update stuck")

    # CBI catalog and profiles
    regions, _ = ok(zpa.cbi_region.list_cbi_regions(), f"{label}: list CBI regions")
    check(len(regions) >= 4, f"{label}: at least four regions")
    certificates, _ = ok(zpa.cbi_certificate.list_cbi_certificates(), f"{label}: list CBI certificates")
    root = [c for c in certificates if c.name == "Zscaler Root Certificate"]
    check(len(root) == 1, f"{label}: the Zscaler root certificate")
    banners, _ = ok(zpa.cbi_banner.list_cbi_banners(), f"{label}: list CBI banners")
    banner = [b for b in banners if b.name == "Default"][0]

    region_ids = sorted(r.id for r in regions)[:2]
    created, _ = ok(
        zpa.cbi_profile.add_cbi_profile(
            name=f"sdk {label} profile",
            description="made by the official SDK",
            region_ids=region_ids,
            certificate_ids=[root[0].id],
            banner_id=banner.id,
            security_controls={"copy_paste": "none", "upload_download": "upstream", "flattened_pdf": True},
            user_experience={"browser_in_browser": True},
        ),
        f"{label}: create a CBI profile",
    )
    profile_id = created.id
    check(bool(profile_id), f"{label}: the create answers an id ({profile_id})")

    profile, _ = ok(zpa.cbi_profile.get_cbi_profile(profile_id), f"{label}: get the CBI profile")
    check(sorted(r.id for r in profile.regions) == region_ids, f"{label}: regions come back as objects")
    check(profile.banner.id == banner.id, f"{label}: the banner comes back as an object")

    listed, _ = ok(zpa.cbi_profile.list_cbi_profiles(), f"{label}: list CBI profiles")
    check(any(p.id == profile_id for p in listed), f"{label}: the list has it")

    updated, _ = ok(
        zpa.cbi_profile.update_cbi_profile(
            profile_id,
            name=f"sdk {label} profile 2",
            regions=[{"id": r} for r in region_ids],
            certificates=[{"id": root[0].id}],
            banner={"id": banner.id},
        ),
        f"{label}: update the CBI profile",
    )
    check(updated.name == f"sdk {label} profile 2", f"{label}: PUT answers the full object")

    zpa_side, _ = ok(
        zpa.cbi_zpa_profile.list_cbi_zpa_profiles(query_params={"show_disabled": True}),
        f"{label}: list ZPA-side profiles (cbiconfig view)",
    )
    mine = [p for p in zpa_side if getattr(p, "cbi_profile_id", None) == profile_id]
    check(len(mine) == 1 and mine[0].name == f"sdk {label} profile 2", f"{label}: the ZPA-side profile follows the rename")
    mgmt_side, _ = ok(
        zpa.cbi_zpa_profile.list_isolation_profiles(query_params={"page_size": 500}),
        f"{label}: list isolation profiles (mgmtconfig view)",
    )
    check(any(p.id == mine[0].id for p in mgmt_side), f"{label}: the same numeric id in both views")

    _, response = ok(zpa.cbi_profile.delete_cbi_profile(profile_id), f"{label}: delete the CBI profile")
    check(response.get_status() == 200, f"{label}: CBI delete answers 200")
    _, _, error = zpa.cbi_profile.get_cbi_profile(profile_id)
    check(error is not None, f"{label}: the profile is gone")

    ok(zpa.microtenants.delete_microtenant(mt_id), f"{label}: delete the Microtenant")
    _, _, error = zpa.microtenants.get_microtenant(mt_id)
    check(error is not None, f"{label}: the Microtenant is gone")


def read_with_private_key(zpa, customer_id):
    """What a private-key client reads: the tenant's CBI profiles and Microtenants."""
    label = "oneapi privateKey"
    tenants, _ = ok(zpa.microtenants.list_microtenants(), f"{label}: list Microtenants")
    check(any(t.name == "Default" for t in tenants), f"{label}: the Default Microtenant is listed")
    profiles, _ = ok(zpa.cbi_profile.list_cbi_profiles(), f"{label}: list CBI profiles")
    check(any(p.name.startswith("Default Isolation Profile") for p in profiles), f"{label}: the default profile is listed")


def main(argv):
    if len(argv) not in (5, 7):
        print(__doc__, file=sys.stderr)
        return 2
    base_url, customer_id, client_id, client_secret = argv[1:5]

    # Legacy ZPA client (POST /signin, paths at the root).
    constants.ZPA_BASE_URLS["SIMULATOR"] = base_url
    legacy = LegacyZPAClient(
        {"clientId": client_id, "clientSecret": client_secret, "customerId": customer_id, "cloud": "SIMULATOR"}
    )
    with legacy as client:
        exercise(client.zpa, "legacy", customer_id)

    # OneAPI client (ZIdentity token, /zpa-prefixed paths).
    OAuth._get_auth_url = lambda self, vanity_domain, cloud: f"{base_url}/oauth2/v1/token"
    RequestExecutor.BASE_URL = base_url
    oneapi = Client(
        {
            "clientId": client_id,
            "clientSecret": client_secret,
            "customerId": customer_id,
            "vanityDomain": "simulator",
            "cloud": "production",
        }
    )
    with oneapi as client:
        exercise(client.zpa, "oneapi", customer_id)

    # OneAPI client with a private key (`privateKey`: the SDK signs an RS256
    # client assertion and sends it instead of a secret).
    if len(argv) == 7:
        key_client_id, key_file = argv[5:7]
        with open(key_file, encoding="ascii") as handle:
            private_key = handle.read()
        check("BEGIN PRIVATE KEY" in private_key, "the private key is a PKCS#8 PEM, as the SDK reads it")
        keyed = Client(
            {
                "clientId": key_client_id,
                "privateKey": private_key,
                "customerId": customer_id,
                "vanityDomain": "simulator",
                "cloud": "production",
            }
        )
        with keyed as client:
            read_with_private_key(client.zpa, customer_id)

    print("all official SDK checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
