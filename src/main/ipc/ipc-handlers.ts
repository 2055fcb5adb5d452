import {
  type IpcChannel,
  type IpcRequest,
  type IpcResponse,
  IpcRejection,
  ipcChannels,
  validateIpcCall,
} from "../../shared/ipc-contract.js";

/** The part of ipcMain we use; Electron's own object fits it, and tests drive it without Electron. */
export interface IpcMainLike {
  handle(
    channel: string,
    listener: (event: { senderFrame: { url: string } | null }, ...args: unknown[]) => unknown,
  ): void;
}

export type IpcImplementation = {
  [C in IpcChannel]: (...args: IpcRequest<C>) => Promise<IpcResponse<C>> | IpcResponse<C>;
};

/**
 * One handler per channel of the map: sender origin and arguments checked
 * (validateIpcCall), then the answer checked against the map too, so a bug in
 * main cannot leak an unexpected shape to the window.
 */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  implementation: IpcImplementation,
  onRefused: (message: string) => void = () => undefined,
): void {
  for (const channel of Object.keys(ipcChannels) as IpcChannel[]) {
    ipcMain.handle(channel, async (event, ...args) => {
      let parsed: unknown[];
      try {
        parsed = validateIpcCall(channel, event.senderFrame?.url, args) as unknown[];
      } catch (error) {
        if (error instanceof IpcRejection) onRefused(error.message);
        throw error;
      }
      const handler = implementation[channel] as (...a: unknown[]) => unknown;
      const result = await handler(...parsed);
      return ipcChannels[channel].response.parse(result);
    });
  }
}
