// Deposits and withdrawals: chain transactions the wallet sends itself (an injected
// wallet, or the demo wallet's locally signed transactions to the local node). A
// withdrawal is requested, waits the Exchange's delay by the chain's clock (the
// countdown), then is executed.
import { type Hash, type TransactionReceipt, parseEventLogs } from "viem";
import type { Account } from "../api";
import { byId, countdown, h, say } from "../dom";
import { toUnits } from "../units";
import { type App, usdc } from "./app";

const FAUCET_USDC = "10000";
const WITHDRAWAL_EVENTS = ["WithdrawalRequested", "WithdrawalCancelled", "Withdrawn"];

interface Pending {
  amount: bigint;
  readyAt: bigint;
}

export class Funds {
  private readonly status = byId("funds-status");
  private pending: Pending | null = null;
  private balance: bigint | null = null;
  private account: Account | null = null;
  /** The chain's clock: the latest block's timestamp, and when the page saw it. */
  private chainTime = { block: 0, seen: 0 };

  constructor(
    private readonly app: App,
    private readonly moved: () => void,
  ) {
    byId("faucet").hidden = !app.config.localOnly;
    byId("faucet").onclick = () => void this.run("minting test USDC", () => this.faucet());
    byId("deposit").onclick = () => void this.run("depositing", () => this.deposit());
    byId("request-withdrawal").onclick = () => void this.run("requesting a withdrawal", () => this.request());
    byId("execute-withdrawal").onclick = () => void this.run("withdrawing", () => this.execute());
    byId("add-margin").onclick = () => void this.run("adding margin", () => this.moveMargin("add"));
    byId("remove-margin").onclick = () => void this.run("removing margin", () => this.moveMargin("remove"));
    setInterval(() => this.tick(), 1000);
    setInterval(() => void this.readClock(), 1000);
    void this.readClock();
    this.draw();
  }

  async walletChanged(): Promise<void> {
    this.pending = null;
    this.balance = null;
    this.account = null;
    this.draw();
    if (!this.app.wallet) return;
    await Promise.all([this.readBalance(), this.readPending()]);
    this.draw();
  }

  accountChanged(account: Account): void {
    this.account = account;
    this.draw();
  }

  private get trader() {
    if (!this.app.wallet) throw new Error("choose a wallet first");
    return this.app.wallet;
  }

  private async run(what: string, action: () => Promise<string>): Promise<void> {
    for (const button of document.querySelectorAll<HTMLButtonElement>(".transfer button")) button.disabled = true;
    say(this.status, `${what}…`, "busy");
    try {
      say(this.status, await action());
    } catch (error) {
      const text = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
      say(this.status, text, "error");
    } finally {
      for (const button of document.querySelectorAll<HTMLButtonElement>(".transfer button")) button.disabled = false;
      await this.readBalance().catch(() => undefined);
      this.draw();
      this.moved();
    }
  }

  private amount(id: string): bigint {
    const amount = toUnits((byId<HTMLInputElement>(id).value || "").trim(), this.app.config.units.collateralDecimals, "amount");
    if (amount <= 0n) throw new Error("amount must be positive");
    return amount;
  }

  private async send(contract: "exchange" | "collateral", functionName: string, args: unknown[]): Promise<TransactionReceipt> {
    const { config, reader } = this.app;
    const wallet = this.trader;
    const hash: Hash = await wallet.client.writeContract({
      account: wallet.client.account!,
      chain: wallet.client.chain,
      address: contract === "exchange" ? config.exchange : config.collateral,
      abi: config.abi[contract],
      functionName,
      args,
    });
    const receipt = await reader.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted (${hash})`);
    return receipt;
  }

  private async faucet(): Promise<string> {
    const amount = toUnits(FAUCET_USDC, this.app.config.units.collateralDecimals, "amount");
    await this.send("collateral", "faucet", [this.trader.address, amount]);
    return `minted ${FAUCET_USDC} test USDC to the wallet`;
  }

  private async deposit(): Promise<string> {
    const amount = this.amount("deposit-amount");
    const { config, reader } = this.app;
    const allowance = (await reader.readContract({
      address: config.collateral, abi: config.abi.collateral, functionName: "allowance", args: [this.trader.address, config.exchange],
    })) as bigint;
    if (allowance < amount) await this.send("collateral", "approve", [config.exchange, amount]);
    await this.send("exchange", "deposit", [amount]);
    return `deposited ${usdc(this.app, amount)} USDC`;
  }

  private async request(): Promise<string> {
    const amount = this.amount("withdraw-amount");
    const receipt = await this.send("exchange", "request_withdrawal", [amount]);
    const [event] = parseEventLogs({ abi: this.app.config.abi.exchange, logs: receipt.logs, eventName: "WithdrawalRequested" });
    const args = (event as unknown as { args: { amount: bigint; ready_at: bigint } }).args;
    this.pending = { amount: args.amount, readyAt: args.ready_at };
    return `withdrawal of ${usdc(this.app, amount)} USDC requested`;
  }

  private async execute(): Promise<string> {
    const amount = this.pending?.amount ?? 0n;
    await this.send("exchange", "execute_withdrawal", []);
    this.pending = null;
    return `withdrew ${usdc(this.app, amount)} USDC to the wallet`;
  }

  /** Collateral between the cross account and the chosen market's isolated position
   * (Exchange.add_isolated_margin / remove_isolated_margin; the contract refuses a move
   * that leaves either below initial margin, and says so). */
  private async moveMargin(direction: "add" | "remove"): Promise<string> {
    const amount = this.amount("isolated-amount");
    const market = this.app.market;
    await this.send("exchange", `${direction}_isolated_margin`, [BigInt(market.id), amount]);
    const moved = `${usdc(this.app, amount)} USDC`;
    return direction === "add" ? `added ${moved} to the isolated ${market.symbol} margin` : `moved ${moved} from the isolated ${market.symbol} margin to cross`;
  }

  /** The chosen market changed: its isolated position, if any, decides the margin row. */
  marketChanged(): void {
    this.draw();
  }

  private async readBalance(): Promise<void> {
    const { config, reader, wallet } = this.app;
    if (!wallet) return;
    this.balance = (await reader.readContract({
      address: config.collateral, abi: config.abi.collateral, functionName: "balanceOf", args: [wallet.address],
    })) as bigint;
  }

  /** The wallet's newest withdrawal event decides: a request still pending, or none. */
  private async readPending(): Promise<void> {
    const { config, reader, wallet } = this.app;
    if (!wallet) return;
    const logs = (
      await Promise.all(
        WITHDRAWAL_EVENTS.map((eventName) =>
          reader.getContractEvents({
            address: config.exchange, abi: config.abi.exchange, eventName, fromBlock: BigInt(config.startBlock), args: { trader: wallet.address },
          }),
        ),
      )
    ).flat();
    logs.sort((a, b) => Number(a.blockNumber - b.blockNumber) || a.logIndex - b.logIndex);
    const newest = logs.at(-1) as unknown as { eventName: string; args: { amount: bigint; ready_at: bigint } } | undefined;
    this.pending = newest?.eventName === "WithdrawalRequested" ? { amount: newest.args.amount, readyAt: newest.args.ready_at } : null;
  }

  private async readClock(): Promise<void> {
    const block = await this.app.reader.getBlock({ blockTag: "latest" }).catch(() => null);
    if (block && Number(block.timestamp) !== this.chainTime.block) {
      this.chainTime = { block: Number(block.timestamp), seen: Date.now() / 1000 };
      this.tick();
    }
  }

  /** Seconds on the chain's clock now: the latest block's time plus what passed since. */
  private chainNow(): number {
    return this.chainTime.block + (Date.now() / 1000 - this.chainTime.seen);
  }

  private tick(): void {
    const box = byId("withdrawal");
    box.hidden = this.pending === null;
    if (!this.pending) return;
    const left = Number(this.pending.readyAt) - this.chainNow();
    byId("withdrawal-text").textContent = `${usdc(this.app, this.pending.amount)} USDC: ${left > 0 ? `ready in ${countdown(left)}` : "ready"}`;
    box.dataset.ready = String(left <= 0);
    byId<HTMLButtonElement>("execute-withdrawal").disabled = left > 0;
  }

  private draw(): void {
    const a = this.account;
    const figure = (label: string, value: string | null | undefined, id: string) => [
      h("dt", {}, label), h("dd", { "data-testid": id }, value ?? "—"),
    ];
    byId("funds").replaceChildren(
      ...figure("Wallet USDC", this.balance === null ? null : usdc(this.app, this.balance), "wallet-balance"),
      ...figure("Collateral", a?.collateral, "collateral"),
      ...figure("Equity", a?.equity, "equity"),
      ...figure("Initial margin", a?.initialMargin, "initial-margin"),
      ...figure("Maintenance", a?.maintenanceMargin, "maintenance-margin"),
    );
    const symbol = this.app.market.symbol;
    byId("isolated").hidden = !a?.positions.some((p) => p.market === symbol && p.marginMode === "isolated");
    byId("isolated-market").textContent = symbol;
    this.tick();
  }
}
