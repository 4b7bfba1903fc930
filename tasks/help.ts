import { commandList } from './cli/commands.js';

console.log(commandList());
