package dev.ember.net.user;

import static dev.ember.net.user.Packets.put32;
import static dev.ember.net.user.Packets.u32;
import static dev.ember.net.user.Packets.u8;

/**
 * The DHCP server of the user network (RFC 2131, options from RFC 2132): it leases the one
 * guest address to whichever client asks, as QEMU's slirp {@code bootp.c} does for its first
 * client.
 *
 * <pre>
 *   0   op | htype | hlen | hops      12  ciaddr     24  giaddr      108 file[128]
 *   4   xid                           16  yiaddr     28  chaddr[16]  236 magic cookie
 *   8   secs | flags                  20  siaddr     44  sname[64]   240 options
 * </pre>
 *
 * <p>DISCOVER is answered with OFFER; REQUEST for the guest address with ACK and for any other
 * address with NAK (unless it names another server, which is ignored); INFORM with ACK without
 * a lease; RELEASE and DECLINE need no answer, since the lease is fixed. Replies carry the
 * subnet mask, router, DNS server, broadcast address, lease time and server identifier, and
 * are padded to the 300-byte BOOTP minimum that busybox udhcpc and other clients expect.
 *
 * <p><b>Guest-controlled.</b> The whole message. The option walk stops at the end of the
 * message, and each option's length is checked against what remains, so a hostile message can
 * only fail to get an answer.
 *
 * <p>Owned by the stack thread.
 */
final class DhcpServer {

    static final int SERVER_PORT = 67, CLIENT_PORT = 68;

    static final int OP = 0, HTYPE = 1, HLEN = 2, XID = 4, FLAGS = 10, CIADDR = 12, YIADDR = 16, SIADDR = 20;
    static final int CHADDR = 28, MAGIC = 236, OPTIONS = 240;
    static final int MAGIC_COOKIE = 0x63825363;
    static final int BOOTREQUEST = 1, BOOTREPLY = 2;
    static final int MIN_REPLY = 300;

    static final int OPT_PAD = 0, OPT_SUBNET_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_BROADCAST = 28;
    static final int OPT_REQUESTED_IP = 50, OPT_LEASE_TIME = 51, OPT_MESSAGE_TYPE = 53, OPT_SERVER_ID = 54;
    static final int OPT_END = 255;

    static final int DISCOVER = 1, OFFER = 2, REQUEST = 3, DECLINE = 4, ACK = 5, NAK = 6, RELEASE = 7, INFORM = 8;

    /** Lease time in seconds, as slirp's {@code LEASE_TIME}. */
    static final int LEASE_SECONDS = 86400;

    private final UserNetworkConfig config;

    DhcpServer(UserNetworkConfig config) {
        this.config = config;
    }

    /**
     * Answers one BOOTP message.
     *
     * @param m   the frame holding the UDP payload
     * @param off where the payload starts
     * @param len the payload's length
     * @return the reply's UDP payload, or {@code null} if the message needs no answer or is
     *         malformed
     */
    byte[] handle(byte[] m, int off, int len) {
        if (len < OPTIONS || u8(m, off + OP) != BOOTREQUEST || u8(m, off + HTYPE) != 1
                || u8(m, off + HLEN) != 6 || u32(m, off + MAGIC) != MAGIC_COOKIE) {
            return null;
        }
        int type = 0;
        int requestedIp = 0;
        int serverId = 0;
        boolean hasServerId = false;
        int p = off + OPTIONS;
        int end = off + len;
        // Bounds: each step consumes at least one byte and never reads past end.
        while (p < end) {
            int code = u8(m, p++);
            if (code == OPT_PAD) {
                continue;
            }
            if (code == OPT_END || p >= end) {
                break;
            }
            int optLen = u8(m, p++);
            if (optLen > end - p) {
                return null;
            }
            if (code == OPT_MESSAGE_TYPE && optLen == 1) {
                type = u8(m, p);
            } else if (code == OPT_REQUESTED_IP && optLen == 4) {
                requestedIp = u32(m, p);
            } else if (code == OPT_SERVER_ID && optLen == 4) {
                serverId = u32(m, p);
                hasServerId = true;
            }
            p += optLen;
        }
        int guestIp = config.guestIp();
        int ciaddr = u32(m, off + CIADDR);
        return switch (type) {
            case DISCOVER -> reply(m, off, OFFER, guestIp, true);
            case REQUEST -> {
                if (hasServerId && serverId != config.gatewayIp()) {
                    yield null;
                }
                int wanted = requestedIp != 0 ? requestedIp : ciaddr;
                yield wanted == guestIp ? reply(m, off, ACK, guestIp, true) : reply(m, off, NAK, 0, false);
            }
            case INFORM -> reply(m, off, ACK, 0, false);
            default -> null;
        };
    }

    private byte[] reply(byte[] m, int off, int type, int yiaddr, boolean lease) {
        byte[] r = new byte[MIN_REPLY];
        r[OP] = BOOTREPLY;
        r[HTYPE] = 1;
        r[HLEN] = 6;
        System.arraycopy(m, off + XID, r, XID, 4);
        System.arraycopy(m, off + FLAGS, r, FLAGS, 2);
        if (type != NAK) {
            System.arraycopy(m, off + CIADDR, r, CIADDR, 4);
        }
        put32(r, YIADDR, yiaddr);
        put32(r, SIADDR, type == NAK ? 0 : config.gatewayIp());
        System.arraycopy(m, off + CHADDR, r, CHADDR, 16);
        put32(r, MAGIC, MAGIC_COOKIE);
        int p = OPTIONS;
        r[p++] = OPT_MESSAGE_TYPE;
        r[p++] = 1;
        r[p++] = (byte) type;
        p = option32(r, p, OPT_SERVER_ID, config.gatewayIp());
        if (type != NAK) {
            if (lease) {
                p = option32(r, p, OPT_LEASE_TIME, LEASE_SECONDS);
            }
            p = option32(r, p, OPT_SUBNET_MASK, config.netmask());
            p = option32(r, p, OPT_ROUTER, config.gatewayIp());
            p = option32(r, p, OPT_DNS, config.dnsIp());
            p = option32(r, p, OPT_BROADCAST, config.networkIp() | ~config.netmask());
        }
        r[p] = (byte) OPT_END;
        return r;
    }

    private static int option32(byte[] r, int p, int code, int value) {
        r[p] = (byte) code;
        r[p + 1] = 4;
        put32(r, p + 2, value);
        return p + 6;
    }
}
