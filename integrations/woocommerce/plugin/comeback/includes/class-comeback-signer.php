<?php
/**
 * Signing what the plugin sends to the app: Shopify's app-proxy scheme with the shop's plugin
 * secret.  Pure PHP (no WordPress), so php-cli tests can run it alone.
 *
 * Parameters are an ordered list of [key, value] pairs (a query string may repeat a key).  The
 * message is every pair but `signature`, grouped by key, keys sorted (UTF-8 byte order, which is
 * the code-point order of Python's sorted()), each as `key=value` with a repeated key's values joined by `,` in the
 * order they came, concatenated with no separator; the signature is its hex HMAC-SHA256.
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || defined( 'COMEBACK_CLI' ) || exit;

/**
 * The signing scheme shared with the app (integrations/shopify/app_proxy.py::proxy_message).
 */
final class Comeback_Signer {

	/**
	 * The message signed for these parameters.
	 *
	 * @param array $pairs List of array( key, value ).
	 * @return string
	 */
	public static function message( array $pairs ) {
		$grouped = array();
		foreach ( $pairs as $pair ) {
			list( $key, $value ) = $pair;
			$key                 = (string) $key;
			if ( 'signature' === $key ) {
				continue;
			}
			$grouped[ $key ][] = (string) $value;
		}
		// Keys that look like integers become int array keys in PHP; compare them as strings.
		uksort(
			$grouped,
			static function ( $a, $b ) {
				return strcmp( (string) $a, (string) $b );
			}
		);
		$message = '';
		foreach ( $grouped as $key => $values ) {
			$message .= $key . '=' . implode( ',', $values );
		}
		return $message;
	}

	/**
	 * Hex HMAC-SHA256 of the message with the secret.
	 *
	 * @param array  $pairs  List of array( key, value ).
	 * @param string $secret The shop's plugin secret.
	 * @return string
	 */
	public static function signature( array $pairs, $secret ) {
		return hash_hmac( 'sha256', self::message( $pairs ), (string) $secret );
	}

	/**
	 * The pairs with their signature appended.
	 *
	 * @param array  $pairs  List of array( key, value ).
	 * @param string $secret The shop's plugin secret.
	 * @return array
	 */
	public static function sign( array $pairs, $secret ) {
		$pairs[] = array( 'signature', self::signature( $pairs, $secret ) );
		return $pairs;
	}

	/**
	 * A raw query string as the app will read it (Python's parse_qsl, blank values kept): split
	 * on `&`, each at its first `=`, `+` and %XX decoded.  Pairs whose key or value is not valid
	 * UTF-8 are dropped (the app would read them as U+FFFD and the signature would not match).
	 *
	 * @param string $query The query string, without `?`.
	 * @return array List of array( key, value ).
	 */
	public static function parse_query( $query ) {
		$pairs = array();
		foreach ( explode( '&', (string) $query ) as $part ) {
			if ( '' === $part ) {
				continue;
			}
			$bits  = explode( '=', $part, 2 );
			$key   = urldecode( $bits[0] );
			$value = isset( $bits[1] ) ? urldecode( $bits[1] ) : '';
			if ( '' === $key || ! self::is_utf8( $key ) || ! self::is_utf8( $value ) ) {
				continue;
			}
			$pairs[] = array( $key, $value );
		}
		return $pairs;
	}

	/**
	 * The pairs as a query string (RFC 3986 encoding, which the app decodes back exactly).
	 *
	 * @param array $pairs List of array( key, value ).
	 * @return string
	 */
	public static function build_query( array $pairs ) {
		$parts = array();
		foreach ( $pairs as $pair ) {
			$parts[] = rawurlencode( (string) $pair[0] ) . '=' . rawurlencode( (string) $pair[1] );
		}
		return implode( '&', $parts );
	}

	/**
	 * Whether a string is valid UTF-8.
	 *
	 * @param string $text The text.
	 * @return bool
	 */
	public static function is_utf8( $text ) {
		return 1 === preg_match( '//u', (string) $text );
	}
}
