import { loadConfig } from "../config";
import { exposeConsole } from "./console";

const config = await loadConfig();
exposeConsole(config);
document.body.dataset.ready = "true";
