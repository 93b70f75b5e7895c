// The page's chain side: a viem client for reads, and a wallet that signs typed data and
// sends transactions. An injected EIP-1193 wallet (window.ethereum) signs and sends
// itself; a local-only demo wallet signs here with its dev key and sends the raw
// transaction to the local node's JSON-RPC.
import {
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  custom,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { PageConfig } from "./config";
import { type CancelMessage, type LoginMessage, type OrderMessage, type PrimaryType, typedData } from "./eip712";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export interface DemoWallet {
  label: string;
  address: Address;
  privateKey: Hex;
  localOnly: boolean;
}

export function chainOf(config: PageConfig): Chain {
  return {
    id: config.chainId,
    name: `perpdex chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: config.rpcUrl ? [config.rpcUrl] : [] } },
  };
}

/** The local node's RPC, else the injected wallet's provider (a remote deployment's RPC
 * URL is not handed to pages: it may carry an API key). */
function chainTransport(config: PageConfig): Transport {
  if (config.rpcUrl) return http(config.rpcUrl);
  if (window.ethereum) return custom(window.ethereum);
  return custom({
    request: () => Promise.reject(new Error("no access to the chain: connect a wallet")),
  });
}

export function readClient(config: PageConfig): PublicClient {
  return createPublicClient({ chain: chainOf(config), transport: chainTransport(config), pollingInterval: 500 });
}

export class Wallet {
  private constructor(
    readonly address: Address,
    readonly label: string,
    readonly localOnly: boolean,
    readonly client: WalletClient,
  ) {}

  static demo(config: PageConfig, wallet: DemoWallet): Wallet {
    const account = privateKeyToAccount(wallet.privateKey);
    const client = createWalletClient({ account, chain: chainOf(config), transport: chainTransport(config) });
    return new Wallet(account.address, wallet.label, true, client);
  }

  static async injected(config: PageConfig, provider: EIP1193Provider): Promise<Wallet> {
    const [address] = await provider.request({ method: "eth_requestAccounts" });
    if (!address) throw new Error("the wallet shared no account");
    const client = createWalletClient({ account: address, chain: chainOf(config), transport: custom(provider) });
    return new Wallet(address, "injected wallet", false, client);
  }

  /** eth_signTypedData_v4 (injected) or a local signature (demo): r || s || v, 65 bytes. */
  sign(config: PageConfig, primaryType: PrimaryType, message: OrderMessage | CancelMessage | LoginMessage): Promise<Hex> {
    return this.client.signTypedData({ account: this.client.account!, ...typedData(config, primaryType, message) });
  }
}
