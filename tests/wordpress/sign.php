<?php
/**
 * The plugin's signing, run alone by php-cli for tests/wordpress/test_signing.py: reads JSON
 * cases `[{"query": "<a shopper's raw query string>", "secret": "..."}]` on stdin and prints, for
 * each, the pairs the plugin reads from the query, the message it signs and the query string it
 * sends on (the pairs plus `signature`).
 */

define( 'COMEBACK_CLI', true );
require dirname( __DIR__, 2 ) . '/integrations/woocommerce/plugin/comeback/includes/class-comeback-signer.php';

$out = array();
foreach ( json_decode( stream_get_contents( STDIN ), true ) as $case ) {
	$pairs  = Comeback_Signer::parse_query( $case['query'] );
	$out[] = array(
		'pairs'   => $pairs,
		'message' => Comeback_Signer::message( $pairs ),
		'sent'    => Comeback_Signer::build_query( Comeback_Signer::sign( $pairs, $case['secret'] ) ),
	);
}
echo json_encode( $out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES );
