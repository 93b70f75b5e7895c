// Who trades: an injected EIP-1193 wallet, or on a local chain a demo wallet picked from
// the dev accounts; once chosen, a signed Login authenticates the gateway connection and
// the account stream follows the wallet's events.
import { getJson } from "../api";
import { type DemoWallet, Wallet } from "../chain";
import { byId, h, say, shortHex } from "../dom";
import { loginMessage } from "../eip712";
import { Nonces } from "../nonces";
import { type App, secondsFromNow } from "./app";

const LOGIN_TTL_S = 12 * 3600;

export class Session {
  constructor(
    private readonly app: App,
    private readonly changed: () => void,
    private readonly status: HTMLElement,
  ) {}

  async offerWallets(): Promise<void> {
    const { config } = this.app;
    if (window.ethereum) {
      const button = byId<HTMLButtonElement>("connect-injected");
      button.hidden = false;
      button.onclick = () => void this.use(() => Wallet.injected(config, window.ethereum!));
    }
    if (!config.localOnly) return;
    const wallets = await getJson<DemoWallet[]>("/demo-wallets");
    const select = byId<HTMLSelectElement>("demo-wallet");
    select.replaceChildren(
      h("option", { value: "" }, "demo wallet (local only)…"),
      ...wallets.map((w, i) => h("option", { value: String(i) }, `${w.label} ${shortHex(w.address)}`)),
    );
    select.hidden = false;
    select.onchange = () => {
      const chosen = wallets[Number(select.value)];
      if (select.value !== "" && chosen) void this.use(async () => Wallet.demo(config, chosen));
    };
  }

  /** Log the current wallet in on the current connection (again after a reconnect). */
  async login(): Promise<void> {
    const { app } = this;
    app.loggedIn = false;
    if (!app.wallet || !app.nonces) return;
    const login = loginMessage(app.wallet.address, secondsFromNow(LOGIN_TTL_S), app.nonces.next());
    const signature = await app.wallet.sign(app.config, "Login", login);
    await app.gateway.request({ op: "login", login, signature });
    app.loggedIn = true;
    await app.gateway.request({ op: "subscribe", channel: "account" });
  }

  private async use(open: () => Promise<Wallet>): Promise<void> {
    const { app } = this;
    try {
      const wallet = await open();
      const switching = app.loggedIn; // one connection serves one trader
      app.wallet = wallet;
      app.nonces = new Nonces(app.config.chainId, app.config.exchange, wallet.address);
      app.loggedIn = false;
      byId("wallet-address").textContent = wallet.address;
      byId("wallet-address").title = wallet.label;
      byId("wallet-badge").hidden = !wallet.localOnly;
      if (switching) app.gateway.reconnect(); // logs the new wallet in once open
      else await this.login();
      this.changed();
    } catch (error) {
      say(this.status, `wallet: ${(error as Error).message}`, "error");
    }
  }
}
