import type { Register } from './app.js';
import { registerHostnames } from './hostnames.js';
import { registerHostlist } from './hostlist.js';
import { registerRender } from './render.js';
import { registerCheckPorts } from './check-ports.js';
import { registerSubmit } from './submit.js';
import { registerRun } from './run.js';
import { registerStatus } from './status.js';
import { registerLogs } from './logs.js';
import { registerCancel } from './cancel.js';
import { registerLs } from './ls.js';
import { registerController } from './controller.js';
import { registerAgent } from './agent.js';

/** Every command, in the order --help lists them. One file per command. */
export const commands: Register[] = [registerHostnames, registerHostlist, registerRender, registerCheckPorts, registerSubmit, registerRun, registerStatus, registerLogs, registerCancel, registerLs, registerController, registerAgent];
