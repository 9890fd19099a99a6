package dev.ember.mmds;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.function.LongSupplier;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Issues and checks MMDS V2 session tokens, as Firecracker's {@code TokenAuthority}
 * (src/vmm/src/mmds/token.rs): a token is base64(iv[12] ‖ AES-256-GCM(expiry-ms as le64)[8] ‖
 * tag[16]) under a random key that never leaves this object, with {@code "microvmid=<id>"} as
 * additional authenticated data once an instance id is set. A token is valid while it decrypts
 * and its expiry lies in the future of the monotonic clock.
 *
 * <p>After 2<sup>32</sup>−1 tokens under one key the key is replaced, which invalidates all
 * tokens issued before, as in Firecracker.
 *
 * <p><b>Guest-controlled.</b> {@link #isValid} takes the guest's header value: anything longer
 * than {@value #TOKEN_LENGTH_LIMIT} characters is refused before decoding, so a hostile token
 * costs at most one base64 decode of 70 characters and one GCM open of 24 bytes.
 *
 * <p>Threads: not thread-safe; {@link Mmds} calls it under its own lock.
 */
final class TokenAuthority {

    /** Token lifetime bounds in seconds (token.rs MIN_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS). */
    static final int MIN_TOKEN_TTL_SECONDS = 1, MAX_TOKEN_TTL_SECONDS = 21_600;
    /** Longest token string worth decoding (token.rs TOKEN_LENGTH_LIMIT). */
    static final int TOKEN_LENGTH_LIMIT = 70;

    private static final int IV_LEN = 12, PAYLOAD_LEN = 8, TAG_LEN = 16, KEY_LEN = 32;
    private static final int TOKEN_BYTES = IV_LEN + PAYLOAD_LEN + TAG_LEN;

    private final SecureRandom random = new SecureRandom();
    private final LongSupplier clockMillis;
    private SecretKey key;
    private long tokensUnderKey;
    private byte[] aad = new byte[0];

    TokenAuthority(LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        this.key = newKey();
    }

    /** Binds tokens to one microVM: {@code "microvmid=" + instanceId} becomes the AAD. */
    void setAad(String instanceId) {
        aad = ("microvmid=" + instanceId).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * {@return a new token that expires ttlSeconds from now}
     *
     * @throws IllegalArgumentException with Firecracker's text when ttlSeconds is out of bounds
     */
    String generate(long ttlSeconds) {
        if (ttlSeconds < MIN_TOKEN_TTL_SECONDS || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
            throw new IllegalArgumentException("Invalid time to live value provided for token: " + ttlSeconds
                    + ". Please provide a value between " + MIN_TOKEN_TTL_SECONDS + " and "
                    + MAX_TOKEN_TTL_SECONDS + ".");
        }
        if (tokensUnderKey == 0xFFFF_FFFFL) {
            key = newKey();
            tokensUnderKey = 0;
        }
        long expiry = clockMillis.getAsLong() + ttlSeconds * 1000;
        byte[] iv = new byte[IV_LEN];
        random.nextBytes(iv);
        byte[] plain = ByteBuffer.allocate(PAYLOAD_LEN).order(ByteOrder.LITTLE_ENDIAN).putLong(expiry).array();
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_LEN * 8, iv));
            c.updateAAD(aad);
            byte[] sealed = c.doFinal(plain);   // ciphertext ‖ tag
            byte[] token = new byte[TOKEN_BYTES];
            System.arraycopy(iv, 0, token, 0, IV_LEN);
            System.arraycopy(sealed, 0, token, IV_LEN, PAYLOAD_LEN + TAG_LEN);
            tokensUnderKey++;
            return Base64.getEncoder().encodeToString(token);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Failed to encrypt token.", e);
        }
    }

    /** {@return whether token was issued under the current key and AAD and has not expired} */
    boolean isValid(String token) {
        if (token.length() > TOKEN_LENGTH_LIMIT) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (bytes.length != TOKEN_BYTES) {
            return false;
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_LEN * 8, bytes, 0, IV_LEN));
            c.updateAAD(aad);
            byte[] plain = c.doFinal(bytes, IV_LEN, PAYLOAD_LEN + TAG_LEN);
            long expiry = ByteBuffer.wrap(plain).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return expiry > clockMillis.getAsLong();
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private SecretKey newKey() {
        byte[] k = new byte[KEY_LEN];
        random.nextBytes(k);
        return new SecretKeySpec(k, "AES");
    }
}
