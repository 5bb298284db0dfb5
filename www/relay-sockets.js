// The NIP-46 signer's connections to relays, in a worker of their own. The vault worker, which
// holds the key, may reach only the relays the server names; apps a user connects name relays of
// their own, and this worker's content security policy (which the server makes from the
// `connect` list in this script's address) allows exactly those. It holds no secret: only
// NIP-44-encrypted events pass through it.
// Messages are JSON: SocketCommand in (client/src/browser/relays.rs), SocketEvent out
// (client/src/relay.rs).
const sockets = new Map();
const tell = (event) => self.postMessage(JSON.stringify(event));

function close(index) {
  const socket = sockets.get(index);
  if (!socket) return;
  sockets.delete(index);
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.close();
}

function open(index, url) {
  close(index);
  let socket;
  try {
    socket = new WebSocket(url);
  } catch {
    // Not a WebSocket address, or one this worker's policy does not name.
    tell({ Closed: index });
    return;
  }
  socket.onopen = () => tell({ Opened: index });
  socket.onmessage = ({ data }) => {
    if (typeof data === "string") tell({ Message: [index, data] });
  };
  // An error is always followed by a close, so the close alone is reported.
  socket.onclose = () => {
    sockets.delete(index);
    tell({ Closed: index });
  };
  sockets.set(index, socket);
}

self.onmessage = ({ data }) => {
  const command = JSON.parse(data);
  if (command === "CloseAll") {
    for (const index of [...sockets.keys()]) close(index);
  } else if (command.Open) {
    open(...command.Open);
  } else if (command.Send) {
    const [index, text] = command.Send;
    const socket = sockets.get(index);
    if (socket?.readyState === WebSocket.OPEN) socket.send(text);
  }
};
