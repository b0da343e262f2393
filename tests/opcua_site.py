"""A site's OPC-UA server for the tests: a real ``asyncua`` Server on a free port, with a folder of
cumulative energy counters (Double Variables with an EngineeringUnits property, as meters and PLCs
expose them), running on its own event loop in a thread so the poller under test connects over TCP."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

UNITS = {"kWh": 4937544, "Wh": 5720146}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def make_certificates(folder: Path) -> None:
    """Self-signed server and client certificates (asyncua's helper), as a site's integrator would make them."""
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder.mkdir(parents=True, exist_ok=True)
    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        await setup_self_signed_certificate(
            folder / f"{role}-key.pem",
            folder / f"{role}-cert.der",
            f"urn:luna:test-{role}",
            "127.0.0.1",
            [usage],
            {"commonName": f"luna test {role}"},
        )


def client_security(folder: Path) -> str:
    return f"Basic256Sha256,SignAndEncrypt,{folder / 'client-cert.der'},{folder / 'client-key.pem'}"


class _OneUser:
    """Accepts exactly one user name and password (and no anonymous session)."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def get_user(self, iserver, username=None, password=None, certificate=None) -> User | None:
        if username == self.username and password == self.password:
            return User(role=UserRole.User)
        return None


class SiteServer:
    def __init__(
        self,
        counters: dict[str, tuple[float, str]],
        port: int | None = None,
        credentials: tuple[str, str] | None = None,
        certificates: Path | None = None,
    ) -> None:
        self.counters = dict(counters)  # meter -> (value, unit)
        self.credentials = credentials
        self.certificates = certificates  # set: only Basic256Sha256 SignAndEncrypt, certificates made there
        self.port = port or free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/luna-site/"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: Server | None = None
        self._nodes: dict[str, object] = {}
        self.site_node = ""

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def start(self) -> SiteServer:
        self._run(self._start())
        return self

    async def _start(self) -> None:
        server = Server(user_manager=_OneUser(*self.credentials) if self.credentials else None)
        await server.init()
        if self.credentials:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        server.set_endpoint(self.endpoint)
        if self.certificates:
            await make_certificates(self.certificates)
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(self.certificates / "server-cert.der"))
            await server.load_private_key(str(self.certificates / "server-key.pem"))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace("urn:luna:test-site")
        site = await server.nodes.objects.add_folder(ua.NodeId("Site", index), "Site")
        self.site_node = site.nodeid.to_string()
        meters = await site.add_folder(ua.NodeId("Site.Meters", index), "Meters")
        # A temperature with a unit that is not energy: browsed, but not a counter.
        temperature = await meters.add_variable(ua.NodeId("Site.Temp", index), "supply_temperature", 21.5)
        await self._unit(temperature, index, "°C", 4408652)
        self._nodes = {}
        for meter, (value, unit) in self.counters.items():
            initial = ua.Variant(value, ua.VariantType.Double)
            node = await meters.add_variable(ua.NodeId(f"Site.{meter}", index), meter, initial)
            await self._unit(node, index, unit, UNITS[unit])
            self._nodes[meter] = node
        await server.start()
        self._server = server

    async def _unit(self, node, index: int, name: str, unit_id: int) -> None:
        unit = ua.EUInformation(
            NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
            UnitId=unit_id,
            DisplayName=ua.LocalizedText(name),
            Description=ua.LocalizedText(name),
        )
        await node.add_property(index, "EngineeringUnits", unit, datatype=ua.NodeId(ua.ObjectIds.EUInformation))

    def set(self, meter: str, value: float) -> None:
        self.counters[meter] = (value, self.counters[meter][1])
        if self._server is not None:
            self._run(self._nodes[meter].write_value(ua.Variant(value, ua.VariantType.Double)))

    def stop(self) -> None:
        """The site goes away (a disconnect); ``start`` brings it back with the counters as they are."""
        if self._server is not None:
            self._run(self._server.stop())
            self._server = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
